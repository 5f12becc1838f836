"""keras-miyasawa: bias-free denoisers and the priors implicit in them.

Miyasawa (1961): for y = x + e, e ~ N(0, sigma^2 I), the least-squares
denoiser is x_hat(y) = y + sigma^2 * grad log p(y).
"""

# First, before TensorFlow loads: quiets its start-up log on the command line.
from keras_miyasawa import _quiet_start  # noqa: F401
from keras_miyasawa import analysis
from keras_miyasawa import callbacks
from keras_miyasawa import data
from keras_miyasawa import evaluation
from keras_miyasawa import image_io
from keras_miyasawa import inference
from keras_miyasawa import layers
from keras_miyasawa import metrics
from keras_miyasawa import models
from keras_miyasawa import operators
from keras_miyasawa import plot
from keras_miyasawa import presets
from keras_miyasawa import priors
from keras_miyasawa import samplers
from keras_miyasawa import tiling
from keras_miyasawa import training
from keras_miyasawa.inference import denoise_folder
from keras_miyasawa.inference import denoise_images
from keras_miyasawa.miyasawa import denoise_from_score
from keras_miyasawa.miyasawa import energy_gradient
from keras_miyasawa.miyasawa import estimate_noise_level
from keras_miyasawa.miyasawa import extract_score_function
from keras_miyasawa.miyasawa import score
from keras_miyasawa.presets import from_preset
from keras_miyasawa.presets import list_presets
from keras_miyasawa.version import __version__

__all__ = [
    "__version__",
    "analysis",
    "callbacks",
    "data",
    "denoise_folder",
    "denoise_from_score",
    "denoise_images",
    "energy_gradient",
    "estimate_noise_level",
    "evaluation",
    "extract_score_function",
    "from_preset",
    "image_io",
    "inference",
    "layers",
    "list_presets",
    "metrics",
    "models",
    "operators",
    "plot",
    "presets",
    "priors",
    "samplers",
    "score",
    "tiling",
    "training",
]
