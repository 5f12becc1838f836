"""Compressive sensing: projections on a random orthonormal basis."""

import math

import numpy as np
from keras import ops

from keras_miyasawa import _validation
from keras_miyasawa.operators.operator import Operator

# Above this many matrix entries (64 MiB of float32), the dense random basis
# gives way to the structured one.
MAX_DENSE_ENTRIES = 2**24


class CompressiveSensing(Operator):
    """`m = round(fraction * N)` projections on random orthonormal vectors.

    Two constructions, both with `M^T M = I` exactly (up to float rounding):

    - dense: `M` is the `Q` factor of an `N x m` Gaussian matrix (a uniformly
      random orthonormal `m`-frame, the reference code's choice). It costs
      `4 N m` bytes and `O(N m)` per image.
    - structured: a random sign flip and permutation of the `N` values,
      then the orthonormal real DFT, of which `m` random real coefficients
      are kept (a structurally random matrix, Do et al. 2012). It costs
      `O(N)` memory and `O(N log N)` per image, for large images.

    `structured=None` picks dense while `N * m <= 2**24`.

    Args:
        fraction: float in (0, 1], `m / N`.
        seed: optional int, the seed of the random basis.
        image_shape: optional `(height, width, channels)`.
        structured: optional bool, see above. Defaults to `None` (automatic).

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> op = km.operators.CompressiveSensing(0.1, seed=0, image_shape=(16, 16, 1))
    >>> v = np.random.default_rng(0).normal(size=(2, 26)).astype("float32")
    >>> bool(np.allclose(op.forward(op.adjoint(v)), v, atol=1e-5))
    True

    Reference:
        Kadkhodaie, Simoncelli. "Solving linear inverse problems using the
        prior implicit in a denoiser." NeurIPS 2021 (arXiv 2007.13640), sec. 4.
        Do, Gan, Nguyen, Tran. "Fast and efficient compressive sensing using
        structurally random matrices." IEEE TSP 2012.
    """

    def __init__(self, fraction, seed=None, image_shape=None, structured=None):
        fraction = _validation.check_positive_float(fraction, "fraction")
        if fraction > 1.0:
            raise ValueError(
                f"fraction must be in (0, 1]. Received: fraction={fraction!r}"
            )
        if structured not in (None, True, False):
            raise ValueError(
                f"structured must be None, True or False. Received: "
                f"structured={structured!r}"
            )
        self.fraction = fraction
        self.seed = seed
        self.structured = structured
        super().__init__(image_shape)

    def _build(self, image_shape):
        size = int(np.prod(image_shape))
        count = min(size, max(1, int(round(self.fraction * size))))
        rng = np.random.default_rng(self.seed)
        structured = self.structured
        if structured is None:
            structured = size * count > MAX_DENSE_ENTRIES
        self.is_structured = structured
        self._measurement_shape = (count,)
        if not structured:
            basis, _ = np.linalg.qr(rng.standard_normal((size, count)))
            self._basis = ops.convert_to_tensor(basis.astype("float32"))
            return
        half = size // 2 + 1
        self_conjugate = np.zeros(half, bool)
        self_conjugate[0] = True
        if size % 2 == 0:
            self_conjugate[-1] = True
        # Real slots: Re X_k for every k, Im X_k where k != -k.
        valid = np.concatenate([np.ones(half, bool), ~self_conjugate])
        slots = np.flatnonzero(valid)
        chosen = np.sort(rng.choice(slots, size=count, replace=False))
        self._signs = rng.choice([-1.0, 1.0], size=size).astype("float32")
        self._permutation = rng.permutation(size).astype("int32")
        self._inverse_permutation = np.argsort(self._permutation).astype("int32")
        # a_k = c_k Re X_k, b_k = c_k Im X_k with the orthonormal X = rfft / sqrt(N)
        # and c_k = sqrt(2) for a conjugate pair, 1 for k = -k.
        c = np.where(self_conjugate, 1.0, math.sqrt(2.0))
        self._slot_weight = np.tile(c / math.sqrt(size), 2).astype("float32")
        # The synthesis x = sqrt(N) irfft(X) with X_k = (a_k + i b_k) / c_k.
        self._synthesis_weight = np.tile(math.sqrt(size) / c, 2).astype("float32")
        self._chosen = chosen.astype("int32")
        source = np.full(2 * half, count, dtype="int32")
        source[chosen] = np.arange(count, dtype="int32")
        self._source = source
        self._half = half

    def _forward(self, x):
        flat = ops.reshape(x, (ops.shape(x)[0], -1))
        if not self.is_structured:
            return ops.matmul(flat, ops.cast(self._basis, x.dtype))
        flat = ops.take(flat * ops.cast(self._signs, x.dtype), self._permutation, 1)
        real, imag = ops.rfft(flat)
        slots = ops.concatenate([real, imag], axis=1)
        slots = slots * ops.cast(self._slot_weight, x.dtype)
        return ops.take(slots, self._chosen, axis=1)

    def _adjoint(self, v):
        if not self.is_structured:
            flat = ops.matmul(v, ops.transpose(ops.cast(self._basis, v.dtype)))
            return ops.reshape(flat, (-1, *self.image_shape))
        size = self.num_values
        padded = ops.concatenate([v, ops.zeros_like(v[:, :1])], axis=1)
        slots = ops.take(padded, self._source, axis=1)
        slots = slots * ops.cast(self._synthesis_weight, v.dtype)
        real = slots[:, : self._half]
        imag = slots[:, self._half :]
        flat = ops.irfft((real, imag), fft_length=size)
        flat = ops.take(flat, self._inverse_permutation, axis=1)
        flat = flat * ops.cast(self._signs, v.dtype)
        return ops.reshape(flat, (-1, *self.image_shape))

    def get_config(self):
        return {
            "fraction": self.fraction,
            "seed": self.seed,
            "image_shape": self.image_shape,
            "structured": self.structured,
        }
