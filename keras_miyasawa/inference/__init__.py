from keras_miyasawa.inference.denoise_folder import denoise_folder
from keras_miyasawa.inference.denoise_images import denoise_images

__all__ = ["denoise_folder", "denoise_images"]
