from keras_miyasawa.models.dncnn.dncnn import DnCNN

__all__ = ["DnCNN"]
