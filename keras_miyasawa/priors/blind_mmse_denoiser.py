"""The MMSE denoiser of a prior when the noise level itself is unknown."""

import numpy as np
from keras import ops

from keras_miyasawa import _validation


class BlindMMSEDenoiser:
    """E[x | y] when sigma ~ Uniform(sigma_min, sigma_max) and y = x + sigma * z.

    This is what a blind network trained on a noise range should learn:

        E[x | y] = sum_j P(sigma_j | y) E[x | y, sigma_j],
        P(sigma_j | y) proportional to w_j p_{sigma_j}(y),

    a Gauss-Legendre quadrature with `num_nodes` nodes sigma_j and weights w_j
    over the range. It is a blind denoiser: call it with `y` alone.

    Args:
        prior: a `keras_miyasawa.priors.Prior`.
        sigma_range: `(sigma_min, sigma_max)` with `0 <= sigma_min < sigma_max`.
        num_nodes: int, the quadrature nodes. Defaults to `32`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), 1.0)
    >>> blind = prior.blind_denoiser((0.1, 0.5))
    >>> blind(np.ones((4, 2))).shape
    TensorShape([4, 2])
    """

    def __init__(self, prior, sigma_range, num_nodes=32):
        try:
            low, high = (float(s) for s in sigma_range)
        except (TypeError, ValueError):
            raise ValueError(
                "sigma_range must be a pair (sigma_min, sigma_max). "
                f"Received: sigma_range={sigma_range!r}"
            ) from None
        if not (np.isfinite([low, high]).all() and 0.0 <= low < high):
            raise ValueError(
                "sigma_range must satisfy 0 <= sigma_min < sigma_max, both finite. "
                f"Received: sigma_range={sigma_range!r}"
            )
        _validation.check_positive_int(num_nodes, "num_nodes")
        self.prior = prior
        self.sigma_range = (low, high)
        self.num_nodes = num_nodes
        nodes, weights = np.polynomial.legendre.leggauss(num_nodes)
        self.sigmas = 0.5 * (high - low) * nodes + 0.5 * (high + low)
        self.log_weights = np.log(0.5 * (high - low) * weights)

    def sigma_posterior(self, y):
        """P(sigma_j | y) at the quadrature nodes `self.sigmas`, shape `(batch, J)`."""
        y = ops.convert_to_tensor(y)
        log_post = ops.stack(
            [self.prior.log_prob(y, s) for s in self.sigmas], axis=-1
        ) + ops.cast(self.log_weights, y.dtype)
        return ops.softmax(log_post, axis=-1)

    def __call__(self, y):
        y = ops.convert_to_tensor(y)
        posterior = self.sigma_posterior(y)
        flat_shape = (-1,) + (1,) * (len(y.shape) - 1)
        x_hat = ops.zeros_like(y)
        for j, s in enumerate(self.sigmas):
            weight = ops.reshape(posterior[:, j], flat_shape)
            x_hat = x_hat + weight * self.prior.denoise(y, s)
        return x_hat
