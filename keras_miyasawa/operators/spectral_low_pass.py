"""Spectral low-pass: keep the lowest spatial frequencies ("deblurring")."""

import math

import numpy as np
from keras import ops

from keras_miyasawa import _validation
from keras_miyasawa.operators.operator import Operator


class SpectralLowPass(Operator):
    """Keeps the lowest Fourier frequencies of each channel, orthonormally.

    With the orthonormal 2-D DFT `X = F x`, the measurements are the real
    coordinates of the kept frequencies: `X_k` itself where `k = -k` (the DC
    term and the Nyquist terms) and `sqrt(2) Re X_k`, `sqrt(2) Im X_k` for one
    frequency `k` of each conjugate pair `{k, -k}`. These are the coordinates
    of `x` in an orthonormal basis of real images, so `M^T M = I`, and
    `M M^T` is the ideal low-pass filter (the paper's "spectral
    super-resolution" or deblurring task).

    The frequencies are ranked by normalized radius `(k_y / H)^2 + (k_x / W)^2`
    (ties by index) and whole conjugate pairs are kept until at least
    `round(fraction * H * W)` real coefficients per channel are reached, so
    the kept fraction is `fraction` up to one coefficient.

    Args:
        fraction: float in (0, 1], the fraction of coefficients kept.
        image_shape: optional `(height, width, channels)`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> op = km.operators.SpectralLowPass(0.1, image_shape=(40, 40, 1))
    >>> op.num_measurements  # 160 rounded up to whole conjugate pairs
    161
    >>> x = np.full((1, 40, 40, 1), 0.5, "float32")  # a constant passes
    >>> bool(np.allclose(op.project(x), x, atol=1e-6))
    True

    Reference:
        Kadkhodaie, Simoncelli. "Solving linear inverse problems using the
        prior implicit in a denoiser." NeurIPS 2021 (arXiv 2007.13640), sec. 4.
    """

    def __init__(self, fraction, image_shape=None):
        fraction = _validation.check_positive_float(fraction, "fraction")
        if fraction > 1.0:
            raise ValueError(
                f"fraction must be in (0, 1]. Received: fraction={fraction!r}"
            )
        self.fraction = fraction
        super().__init__(image_shape)

    def _build(self, image_shape):
        height, width, channels = image_shape
        size = height * width
        k1, k2 = np.meshgrid(np.arange(height), np.arange(width), indexing="ij")
        flat = (k1 * width + k2).reshape(-1)
        partner = (((-k1) % height) * width + (-k2) % width).reshape(-1)
        is_rep = flat <= partner
        fy = np.minimum(k1, height - k1).reshape(-1) / height
        fx = np.minimum(k2, width - k2).reshape(-1) / width
        radius = fy**2 + fx**2
        reps = flat[is_rep]
        order = np.lexsort((reps, radius[reps]))
        reps = reps[order]
        dims = np.where(partner[reps] == reps, 1, 2)
        target = min(size, max(1, int(round(self.fraction * size))))
        count = int(np.searchsorted(np.cumsum(dims), target) + 1)
        kept = reps[:count]
        pair = partner[kept] != kept
        self._kept = kept.astype("int32")
        self._pair_index = np.flatnonzero(pair).astype("int32")
        # sqrt(2) for a conjugate pair, 1 for a self-conjugate frequency.
        self._weight = np.where(pair, math.sqrt(2.0), 1.0).astype("float32")
        # Adjoint gathers: kept-frequency slot of each grid frequency (or the
        # appended zero), and the imaginary slot of each kept frequency.
        source = np.full(size, count, dtype="int32")
        source[kept] = np.arange(count, dtype="int32")
        self._source = source
        im_source = np.full(count, self._pair_index.size, dtype="int32")
        im_source[self._pair_index] = np.arange(self._pair_index.size, dtype="int32")
        self._im_source = im_source
        self.coefficients_per_channel = count + int(self._pair_index.size)
        self._measurement_shape = (channels * self.coefficients_per_channel,)

    def _forward(self, x):
        height, width, channels = self.image_shape
        scale = 1.0 / math.sqrt(height * width)
        planes = ops.transpose(x, (0, 3, 1, 2))
        real, imag = ops.fft2((planes, ops.zeros_like(planes)))
        real = ops.take(
            ops.reshape(real, (-1, channels, height * width)), self._kept, 2
        )
        imag = ops.take(
            ops.reshape(imag, (-1, channels, height * width)), self._kept, 2
        )
        weight = ops.cast(self._weight, x.dtype) * scale
        coords = ops.concatenate(
            [real * weight, ops.take(imag * weight, self._pair_index, axis=2)], axis=2
        )
        return ops.reshape(coords, (-1, self._measurement_shape[0]))

    def _adjoint(self, v):
        height, width, channels = self.image_shape
        count = self._kept.size
        coords = ops.reshape(v, (-1, channels, self.coefficients_per_channel))
        weight = ops.cast(self._weight, v.dtype)
        real = coords[:, :, :count] * weight
        imag_pairs = coords[:, :, count:] * math.sqrt(2.0)
        zero = ops.zeros_like(coords[:, :, :1])
        imag = ops.take(ops.concatenate([imag_pairs, zero], 2), self._im_source, 2)
        real = ops.take(ops.concatenate([real, zero], 2), self._source, 2)
        imag = ops.take(ops.concatenate([imag, zero], 2), self._source, 2)
        grid = (-1, channels, height, width)
        # Re(ifft(c e_k)) puts c / 2 on k and conj(c) / 2 on -k.
        planes, _ = ops.ifft2((ops.reshape(real, grid), ops.reshape(imag, grid)))
        planes = planes * math.sqrt(height * width)
        return ops.transpose(planes, (0, 2, 3, 1))

    def get_config(self):
        return {"fraction": self.fraction, "image_shape": self.image_shape}
