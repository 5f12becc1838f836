from keras_miyasawa.training.train_denoiser import build_denoiser
from keras_miyasawa.training.train_denoiser import completed_epochs
from keras_miyasawa.training.train_denoiser import load_validation_images
from keras_miyasawa.training.train_denoiser import save_trained_preset
from keras_miyasawa.training.train_denoiser import train_denoiser

__all__ = [
    "build_denoiser",
    "completed_epochs",
    "load_validation_images",
    "save_trained_preset",
    "train_denoiser",
]
