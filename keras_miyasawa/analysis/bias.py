"""Is a denoiser bias-free? Homogeneity and the net bias of Mohan et al.

A bias-free ReLU network is positively homogeneous, f(a y) = a f(y) for
a > 0, and piecewise linear with no constant term: f(y) = J(y) y. A network
with biases computes f(y) = J(y) y + b(y), where the net bias b(y) collects
every additive constant that reaches the output along the active paths
(Mohan et al. 2020, sec. 3, eq. 2). These functions measure both properties;
`net_bias` is matrix-free (one JVP, `jvp` with the tangent `y`), so it works on
images of any size. They use TensorFlow directly (`tf.autodiff` through `jvp`),
as the rest of `keras_miyasawa.analysis`.

Reference:
    Mohan, Kadkhodaie, Simoncelli, Fernandez-Granda. "Robust and interpretable
    blind image denoising via bias-free convolutional neural networks."
    ICLR 2020.
"""

import tensorflow as tf

from keras_miyasawa import _validation
from keras_miyasawa.analysis.jacobian import _denoise_fn
from keras_miyasawa.analysis.jacobian import _per_example_norm
from keras_miyasawa.analysis.jacobian import jvp


def homogeneity_error(denoiser, y, scales=(0.5, 2.0), sigma=None):
    """||f(a y) - a f(y)|| / ||a f(y)|| per scale `a` and example.

    Zero (to float rounding) for a bias-free network in inference mode. A
    noise-conditional denoiser is evaluated at the same `sigma` for `y` and
    `a * y` (the Wiener filter of a centred Gaussian prior is then linear,
    hence homogeneous).

    Args:
        denoiser: a blind or noise-conditional denoiser (see
            `keras_miyasawa.analysis.jvp`).
        y: float batch, shape `(batch, ...)`.
        scales: positive floats `a`. Defaults to `(0.5, 2.0)`.
        sigma: the noise level, for a noise-conditional denoiser.

    Returns:
        A `(len(scales), batch)` tensor.

    Raises:
        ValueError: if a scale is not positive, or sigma is missing for a
            noise-conditional denoiser.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> model = km.models.DnCNN(depth=3, filters=4)
    >>> y = np.random.default_rng(0).uniform(size=(2, 8, 8, 1)).astype("float32")
    >>> error = km.analysis.homogeneity_error(model, y, scales=(0.1, 10.0))
    >>> error.shape, bool(np.max(error) < 1e-5)
    (TensorShape([2, 2]), True)
    """
    scales = [_validation.check_positive_float(a, "scales") for a in scales]
    if not scales:
        raise ValueError("scales must hold at least one scale. Received: scales=()")
    f = _denoise_fn(denoiser, sigma)
    y = tf.convert_to_tensor(y)
    x_hat = tf.convert_to_tensor(f(y))
    errors = []
    for a in scales:
        scaled = tf.convert_to_tensor(f(a * y))
        errors.append(
            _per_example_norm(scaled - a * x_hat) / _per_example_norm(a * x_hat)
        )
    return tf.stack(errors)


def net_bias(denoiser, y, sigma=None):
    """The net bias b(y) = f(y) - J(y) y, and how much of the output it makes.

    For a bias-free network b(y) = 0; Mohan et al. (2020, fig. 2) show that
    for a network with biases ||b(y)|| is small inside the training noise
    range and grows outside it, where it hurts generalization. Cost: one JVP.

    Args:
        denoiser: a blind or noise-conditional denoiser.
        y: float batch, shape `(batch, ...)`.
        sigma: the noise level, for a noise-conditional denoiser.

    Returns:
        A dict with `x_hat` and `bias` (shaped like `y`), and the `(batch,)`
        tensors `bias_norm` (||b(y)||), `linear_norm` (||J(y) y||) and
        `bias_ratio` (||b(y)|| / ||J(y) y||).

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.ones(2), 1.0)  # b(y) = (I - J) mean
    >>> out = km.analysis.net_bias(prior, np.zeros((1, 2)), sigma=1.0)
    >>> out["bias"].numpy(), out["bias_norm"].numpy()
    (array([[0.5, 0.5]]), array([0.70710678]))
    """
    y = tf.convert_to_tensor(y)
    x_hat, jy = jvp(denoiser, y, y, sigma)
    bias = x_hat - jy
    bias_norm = _per_example_norm(bias)
    linear_norm = _per_example_norm(jy)
    return {
        "x_hat": x_hat,
        "bias": bias,
        "bias_norm": bias_norm,
        "linear_norm": linear_norm,
        "bias_ratio": bias_norm / linear_norm,
    }
