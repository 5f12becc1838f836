from keras_miyasawa.models.unet.unet import UNet

__all__ = ["UNet"]
