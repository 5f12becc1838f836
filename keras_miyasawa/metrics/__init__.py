from keras_miyasawa.metrics.psnr import PSNR
from keras_miyasawa.metrics.psnr import image_psnr
from keras_miyasawa.metrics.psnr import psnr

__all__ = ["PSNR", "image_psnr", "psnr"]
