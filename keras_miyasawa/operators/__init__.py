from keras_miyasawa.operators.compressive_sensing import CompressiveSensing
from keras_miyasawa.operators.inpainting import Inpainting
from keras_miyasawa.operators.operator import Operator
from keras_miyasawa.operators.random_pixels import RandomPixels
from keras_miyasawa.operators.spectral_low_pass import SpectralLowPass
from keras_miyasawa.operators.super_resolution import SuperResolution

__all__ = [
    "CompressiveSensing",
    "Inpainting",
    "Operator",
    "RandomPixels",
    "SpectralLowPass",
    "SuperResolution",
]
