"""Random pixels: observe a random fraction of the image values."""

import numpy as np

from keras_miyasawa import _validation
from keras_miyasawa.operators.inpainting import Inpainting
from keras_miyasawa.operators.operator import Operator


class RandomPixels(Inpainting):
    """Inpainting with a random mask keeping `fraction` of the values.

    Exactly `round(fraction * N)` of the `N = height * width * channels`
    values are observed, chosen uniformly without replacement (per value, as
    in the reference code, so colour channels are sampled independently).
    The mask is drawn from `seed` when the operator is built, so the same
    seed and image shape give the same mask.

    Args:
        fraction: float in (0, 1], the fraction of values observed.
        seed: optional int, the seed of the mask.
        image_shape: optional `(height, width, channels)`; otherwise the
            shape of the first batch passed to `forward`.

    Example:

    >>> import keras_miyasawa as km
    >>> op = km.operators.RandomPixels(0.1, seed=0, image_shape=(40, 40, 1))
    >>> op.num_measurements
    160

    Reference:
        Kadkhodaie, Simoncelli. "Solving linear inverse problems using the
        prior implicit in a denoiser." NeurIPS 2021 (arXiv 2007.13640), sec. 4.
    """

    def __init__(self, fraction, seed=None, image_shape=None):
        fraction = _validation.check_positive_float(fraction, "fraction")
        if fraction > 1.0:
            raise ValueError(
                f"fraction must be in (0, 1]. Received: fraction={fraction!r}"
            )
        self.fraction = fraction
        self.seed = seed
        self.mask = None
        self.hole = None
        # The mask is drawn at build time; Inpainting's mask/hole checks do not
        # apply, so the base initializer is called directly.
        Operator.__init__(self, image_shape)

    def _full_mask(self, image_shape):
        size = int(np.prod(image_shape))
        count = min(size, max(1, int(round(self.fraction * size))))
        rng = np.random.default_rng(self.seed)
        mask = np.zeros(size, bool)
        mask[rng.choice(size, size=count, replace=False)] = True
        return mask.reshape(image_shape)

    def get_config(self):
        return {
            "fraction": self.fraction,
            "seed": self.seed,
            "image_shape": self.image_shape,
        }
