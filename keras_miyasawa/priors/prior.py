"""The base class of the analytic priors: exact MMSE denoisers in closed form."""

import math

import numpy as np
from keras import ops

from keras_miyasawa import _validation
from keras_miyasawa.priors.blind_mmse_denoiser import BlindMMSEDenoiser


class Prior:
    """A distribution p(x) whose Gaussian-smoothed density is known in closed form.

    For y = x + e, e ~ N(0, sigma^2 I), a subclass gives `log_prob(y, sigma)`
    (the log density of the noisy marginal p_sigma(y)) and `denoise(y, sigma)`
    (the MMSE estimate E[x | y]) in closed form, independently of each other,
    so Miyasawa's identity `denoise = y + sigma^2 * grad log_prob` is a
    checkable statement rather than a definition. `y` has shape
    `(batch, *event_shape)`; `sigma` is a scalar or one value per example.
    Computations run in the dtype of `y` (use float64 for exact checks).

    Priors are noise-conditional denoisers: the score API
    (`keras_miyasawa.score`, ...) calls `denoise(y, sigma)`.
    """

    def __init__(self, event_shape):
        self.event_shape = tuple(int(d) for d in event_shape)
        self.dim = int(np.prod(self.event_shape))

    # Subclasses implement these three on flattened `(batch, dim)` inputs.
    def _log_prob(self, y, sigma_sq):
        raise NotImplementedError

    def _denoise(self, y, sigma_sq):
        raise NotImplementedError

    def _sample(self, rng, num_samples):
        raise NotImplementedError

    def log_prob(self, y, sigma):
        """Log density of the noisy marginal p_sigma(y), shape `(batch,)`."""
        y, sigma_sq = self._prepare(y, sigma)
        return self._log_prob(y, sigma_sq)

    def denoise(self, y, sigma):
        """The MMSE denoiser E[x | y] at noise level `sigma`, shaped like `y`."""
        flat, sigma_sq = self._prepare(y, sigma)
        return ops.reshape(self._denoise(flat, sigma_sq), ops.shape(y))

    def score(self, y, sigma):
        """grad_y log p_sigma(y) via Miyasawa: (E[x | y] - y) / sigma^2."""
        y = ops.convert_to_tensor(y)
        return (self.denoise(y, sigma) - y) / self._broadcast_sigma_sq(sigma, y)

    def energy_gradient(self, y, sigma):
        """grad_y E(y) with E = -log p_sigma: the negative score."""
        return -self.score(y, sigma)

    def sample(self, num_samples, seed=None, dtype="float32"):
        """Draws `num_samples` clean samples x ~ p(x), shape `(n, *event_shape)`."""
        _validation.check_positive_int(num_samples, "num_samples")
        rng = np.random.default_rng(seed)
        samples = self._sample(rng, num_samples)
        return ops.convert_to_tensor(
            samples.reshape((num_samples, *self.event_shape)), dtype=dtype
        )

    def blind_denoiser(self, sigma_range, num_nodes=32):
        """The MMSE denoiser when sigma itself is uniform on `sigma_range`.

        See `keras_miyasawa.priors.BlindMMSEDenoiser`.
        """
        return BlindMMSEDenoiser(self, sigma_range, num_nodes=num_nodes)

    def _prepare(self, y, sigma):
        y = ops.convert_to_tensor(y)
        shape = _validation.check_images(y, "y", rank=None)
        if tuple(shape[1:]) != self.event_shape:
            raise ValueError(
                f"y must have shape (batch, *{self.event_shape}) for this prior. "
                f"Received: y with shape {shape}"
            )
        flat = ops.reshape(y, (-1, self.dim))
        sigma_sq = self._broadcast_sigma_sq(sigma, flat)
        return flat, sigma_sq

    @staticmethod
    def _broadcast_sigma_sq(sigma, y):
        """sigma^2 as a scalar or shaped `(batch, 1, ..., 1)` to broadcast with y."""
        _validation.check_sigma(sigma)
        sigma = _validation.sigma_tensor(sigma, y.dtype)
        if len(sigma.shape) == 0:
            return sigma * sigma
        if len(sigma.shape) != 1:
            raise ValueError(
                "sigma must be a scalar or have shape (batch,). "
                f"Received: sigma with shape {tuple(sigma.shape)}"
            )
        sigma = ops.reshape(sigma, (-1,) + (1,) * (len(y.shape) - 1))
        return sigma * sigma


def half_log_two_pi():
    return 0.5 * math.log(2.0 * math.pi)


def eigen_factor(covariance, dim, name):
    """Eigen-decomposes a covariance given as a matrix, a diagonal or a scalar."""
    cov = np.asarray(covariance, dtype="float64")
    if cov.ndim == 0:
        cov = np.full((dim,), float(cov))
    if cov.ndim == 1:
        if cov.shape != (dim,):
            raise ValueError(
                f"{name} as a diagonal must have shape ({dim},). "
                f"Received: {name} with shape {cov.shape}"
            )
        eigvals, eigvecs = cov.copy(), np.eye(dim)
    elif cov.shape == (dim, dim):
        if not np.allclose(cov, cov.T, atol=1e-10 * max(1.0, np.abs(cov).max())):
            raise ValueError(f"{name} must be symmetric.")
        eigvals, eigvecs = np.linalg.eigh(cov)
    else:
        raise ValueError(
            f"{name} must be a scalar, a diagonal of shape ({dim},) or a matrix of "
            f"shape ({dim}, {dim}). Received: {name} with shape {cov.shape}"
        )
    if not np.all(np.isfinite(eigvals)) or eigvals.min() < -1e-10 * max(
        1.0, eigvals.max()
    ):
        raise ValueError(f"{name} must be positive semi-definite and finite.")
    return np.clip(eigvals, 0.0, None), eigvecs
