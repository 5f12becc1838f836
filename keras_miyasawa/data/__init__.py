from keras_miyasawa.data.denoising_dataset import check_sigma_range
from keras_miyasawa.data.denoising_dataset import denoising_dataset
from keras_miyasawa.data.image_folder_dataset import image_folder_dataset

__all__ = ["check_sigma_range", "denoising_dataset", "image_folder_dataset"]
