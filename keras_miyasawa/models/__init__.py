from keras_miyasawa.models.denoiser import Denoiser
from keras_miyasawa.models.dncnn import DnCNN
from keras_miyasawa.models.unet import UNet

__all__ = ["Denoiser", "DnCNN", "UNet"]
