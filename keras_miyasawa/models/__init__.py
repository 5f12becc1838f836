from keras_miyasawa.models.denoiser import Denoiser
from keras_miyasawa.models.dncnn import DnCNN
from keras_miyasawa.models.fold_batch_norm import fold_batch_norm
from keras_miyasawa.models.unet import UNet

__all__ = ["Denoiser", "DnCNN", "UNet", "fold_batch_norm"]
