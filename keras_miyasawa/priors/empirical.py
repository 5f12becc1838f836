"""The empirical distribution of a training set: the memorising optimum."""

import numpy as np
from keras import ops

from keras_miyasawa.priors import prior


class Empirical(prior.Prior):
    """x uniform over a finite set {x_1, ..., x_n} (e.g. training images).

    p_sigma(y) = (1/n) sum_i N(y; x_i, sigma^2 I) and E[x | y] is the
    softmax-weighted average of the x_i with logits -||y - x_i||^2 / (2 sigma^2):
    the denoiser that minimises the training MSE exactly, i.e. the one a network
    with unlimited capacity would converge to by memorising its data.

    Args:
        points: `(n, *event_shape)` array, e.g. `(n, h, w, c)` images.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Empirical(np.array([[0.0], [1.0]]))
    >>> float(prior.denoise(np.array([[0.1]]), 0.05)[0, 0]) < 0.01
    True
    """

    def __init__(self, points):
        points = np.asarray(points, dtype="float64")
        if points.ndim < 2 or points.shape[0] == 0:
            raise ValueError(
                "points must have shape (n, *event_shape) with n >= 1. "
                f"Received: points with shape {points.shape}"
            )
        if not np.isfinite(points).all():
            raise ValueError("points must be finite.")
        super().__init__(points.shape[1:])
        self.points = points.reshape(points.shape[0], self.dim)
        self._sq_norms = np.sum(self.points**2, axis=1)

    def _logits(self, y, sigma_sq):
        points = ops.cast(self.points, y.dtype)
        sq_dist = (
            ops.sum(y * y, axis=-1, keepdims=True)
            - 2.0 * ops.matmul(y, ops.transpose(points))
            + ops.cast(self._sq_norms, y.dtype)
        )
        return -0.5 * ops.maximum(sq_dist, 0.0) / sigma_sq, points

    def _log_prob(self, y, sigma_sq):
        logits, _ = self._logits(y, sigma_sq)
        sigma_sq = ops.reshape(sigma_sq + ops.zeros_like(logits[:, :1]), (-1,))
        n = self.points.shape[0]
        return (
            ops.logsumexp(logits, axis=-1)
            - float(np.log(n))
            - 0.5 * self.dim * ops.log(sigma_sq)
            - self.dim * prior.half_log_two_pi()
        )

    def _denoise(self, y, sigma_sq):
        logits, points = self._logits(y, sigma_sq)
        return ops.matmul(ops.softmax(logits, axis=-1), points)

    def _sample(self, rng, num_samples):
        return self.points[rng.integers(0, self.points.shape[0], size=num_samples)]
