"""A Gaussian mixture prior: MMSE = posterior-weighted Wiener filters."""

import numpy as np
from keras import ops

from keras_miyasawa.priors import prior


class GaussianMixture(prior.Prior):
    """x ~ sum_k w_k N(mu_k, C_k); p_sigma = sum_k w_k N(mu_k, C_k + sigma^2 I).

    E[x | y] = sum_k P(k | y) (mu_k + C_k (C_k + sigma^2 I)^-1 (y - mu_k)), with
    the posterior P(k | y) a softmax of the component log densities.

    Args:
        weights: `(K,)` non-negative mixture weights (normalized here).
        means: `(K, *event_shape)` component means.
        covariances: `(K, d, d)` matrices, `(K, d)` diagonals, `(K,)` isotropic
            variances, one scalar variance shared by all components, or a list
            of K entries each a matrix, a diagonal or a scalar.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.GaussianMixture([0.5, 0.5], [[-2.0], [2.0]], 0.1)
    >>> prior.sample(3, seed=0).shape
    TensorShape([3, 1])
    """

    def __init__(self, weights, means, covariances):
        weights = np.asarray(weights, dtype="float64")
        means = np.asarray(means, dtype="float64")
        if weights.ndim != 1 or weights.size == 0:
            raise ValueError(
                f"weights must be a non-empty 1-D array. Received: weights with "
                f"shape {weights.shape}"
            )
        if np.any(weights < 0) or not np.isfinite(weights).all() or weights.sum() <= 0:
            raise ValueError(
                f"weights must be finite, non-negative, with a positive sum. "
                f"Received: weights={weights.tolist()}"
            )
        if means.ndim < 2 or means.shape[0] != weights.size:
            raise ValueError(
                f"means must have shape ({weights.size}, *event_shape). "
                f"Received: means with shape {means.shape}"
            )
        super().__init__(means.shape[1:])
        self.weights = weights / weights.sum()
        self.means = means.reshape(weights.size, self.dim)
        self.covariances = covariances
        if isinstance(covariances, (list, tuple)):
            covs = list(covariances)  # may mix matrices, diagonals and scalars
        else:
            covs = np.asarray(covariances, dtype="float64")
            covs = [covs] * weights.size if covs.ndim == 0 else list(covs)
        if len(covs) != weights.size:
            raise ValueError(
                f"covariances must have one entry per component ({weights.size}). "
                f"Received: {len(covs)} entries"
            )
        factors = [
            prior.eigen_factor(c, self.dim, f"covariances[{k}]")
            for k, c in enumerate(covs)
        ]
        self._eigvals = np.stack([f[0] for f in factors])
        self._eigvecs = np.stack([f[1] for f in factors])

    def _component_terms(self, y, sigma_sq):
        dtype = y.dtype
        means = ops.cast(self.means, dtype)
        eigvals = ops.cast(self._eigvals, dtype)
        eigvecs = ops.cast(self._eigvecs, dtype)
        if len(ops.shape(sigma_sq)) == 2:  # one sigma per example: (B, 1, 1)
            sigma_sq = ops.expand_dims(sigma_sq, -1)
        diff = ops.expand_dims(y, 1) - means  # (B, K, d)
        z = ops.einsum("bkd,kde->bke", diff, eigvecs)
        total = eigvals + sigma_sq + ops.zeros_like(z)
        log_dens = -0.5 * ops.sum(ops.log(total) + z * z / total, axis=-1) - (
            self.dim * prior.half_log_two_pi()
        )
        log_joint = log_dens + ops.log(ops.cast(self.weights, dtype))
        return means, eigvals, eigvecs, z, total, log_joint

    def _log_prob(self, y, sigma_sq):
        *_, log_joint = self._component_terms(y, sigma_sq)
        return ops.logsumexp(log_joint, axis=-1)

    def _denoise(self, y, sigma_sq):
        means, eigvals, eigvecs, z, total, log_joint = self._component_terms(
            y, sigma_sq
        )
        posterior = ops.softmax(log_joint, axis=-1)  # (B, K)
        cond_means = means + ops.einsum("bke,kde->bkd", z * eigvals / total, eigvecs)
        return ops.einsum("bk,bkd->bd", posterior, cond_means)

    def _sample(self, rng, num_samples):
        components = rng.choice(self.weights.size, size=num_samples, p=self.weights)
        z = rng.standard_normal((num_samples, self.dim))
        scaled = z * np.sqrt(self._eigvals[components])
        return self.means[components] + np.einsum(
            "nd,ned->ne", scaled, self._eigvecs[components]
        )

    def posterior(self, y, sigma):
        """P(component k | y) at noise level sigma, shape `(batch, K)`."""
        flat, sigma_sq = self._prepare(y, sigma)
        *_, log_joint = self._component_terms(flat, sigma_sq)
        return ops.softmax(log_joint, axis=-1)
