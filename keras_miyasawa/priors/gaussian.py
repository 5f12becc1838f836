"""A Gaussian prior: its MMSE denoiser is the Wiener filter."""

import numpy as np
from keras import ops

from keras_miyasawa.priors import prior


class Gaussian(prior.Prior):
    """x ~ N(mean, covariance); p_sigma = N(mean, covariance + sigma^2 I).

    E[x | y] = mean + C (C + sigma^2 I)^-1 (y - mean), a linear (Wiener) filter
    whose Jacobian is known in closed form. The covariance is eigendecomposed
    once, at construction, in float64.

    Args:
        mean: array of the event shape (e.g. `(d,)` or `(h, w, c)`).
        covariance: `(d, d)` matrix, a `(d,)` diagonal or a scalar, where `d`
            is the number of elements of `mean`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), np.diag([4.0, 1.0]))
    >>> np.asarray(prior.denoise(np.array([[1.0, 1.0]]), 1.0))
    array([[0.8, 0.5]])
    """

    def __init__(self, mean, covariance):
        mean = np.asarray(mean, dtype="float64")
        super().__init__(mean.shape)
        self.mean = mean.reshape(-1)
        self.covariance = covariance
        self._eigvals, self._eigvecs = prior.eigen_factor(
            covariance, self.dim, "covariance"
        )

    def _terms(self, y, sigma_sq):
        dtype = y.dtype
        mean = ops.cast(self.mean, dtype)
        eigvals = ops.cast(self._eigvals, dtype)
        eigvecs = ops.cast(self._eigvecs, dtype)
        z = ops.matmul(y - mean, eigvecs)
        return mean, eigvals, eigvecs, z, eigvals + sigma_sq

    def _log_prob(self, y, sigma_sq):
        _, _, _, z, total = self._terms(y, sigma_sq)
        total = total + ops.zeros_like(z)
        return -0.5 * ops.sum(ops.log(total) + z * z / total, axis=-1) - (
            self.dim * prior.half_log_two_pi()
        )

    def _denoise(self, y, sigma_sq):
        mean, eigvals, eigvecs, z, total = self._terms(y, sigma_sq)
        return mean + ops.matmul(z * eigvals / total, ops.transpose(eigvecs))

    def _sample(self, rng, num_samples):
        z = rng.standard_normal((num_samples, self.dim))
        return self.mean + (z * np.sqrt(self._eigvals)) @ self._eigvecs.T
