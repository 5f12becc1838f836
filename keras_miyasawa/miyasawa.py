"""Miyasawa's identity as an API: scores and noise levels from denoisers.

For y = x + e with e ~ N(0, sigma^2 I), the MMSE denoiser satisfies
x_hat(y) = y + sigma^2 * grad_y log p(y) (Miyasawa 1961), so

    score(y) = grad_y log p(y) = (x_hat(y) - y) / sigma^2.

Every function here accepts a *blind* denoiser `y -> x_hat` (a Keras model,
called with `training=False`, or any one-argument callable) or a
*noise-conditional* one `(y, sigma) -> x_hat` (a `keras_miyasawa.priors.Prior`,
or a callable with two positional parameters). `sigma` is a scalar or one value
per example, in the units of the images ([0, 1] scale).
"""

import inspect

import keras
from keras import ops

from keras_miyasawa import _validation
from keras_miyasawa.priors import Prior


def _positional_arity(fn):
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 1
    count = 0
    for p in params:
        if p.kind == p.VAR_POSITIONAL:
            return 2
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


def as_denoise_fn(denoiser):
    """Returns `(fn, conditional)`: `fn(y, sigma) -> x_hat` and whether it uses sigma.

    Raises:
        TypeError: if `denoiser` is neither a model, a prior nor a callable.
    """
    if isinstance(denoiser, Prior):
        return denoiser.denoise, True
    if isinstance(denoiser, keras.layers.Layer):
        return (lambda y, sigma: denoiser(y, training=False)), False
    if not callable(denoiser):
        raise TypeError(
            "denoiser must be a Keras model, a keras_miyasawa.priors.Prior or a "
            f"callable. Received: denoiser of type {type(denoiser).__name__}"
        )
    if _positional_arity(denoiser) >= 2:
        return denoiser, True
    return (lambda y, sigma: denoiser(y)), False


def _sigma_like(sigma, y):
    """sigma as a tensor broadcastable against `y` (scalar or one per example)."""
    _validation.check_sigma(sigma)
    sigma = _validation.sigma_tensor(sigma, y.dtype)
    if len(sigma.shape) == 1:
        sigma = ops.reshape(sigma, (-1,) + (1,) * (len(y.shape) - 1))
    elif len(sigma.shape) > 1:
        raise ValueError(
            "sigma must be a scalar or have shape (batch,). "
            f"Received: sigma with shape {tuple(sigma.shape)}"
        )
    return sigma


def _check_y(y):
    _validation.check_images(y, "y", rank=None)
    if len(y.shape) < 2:
        raise ValueError(
            f"y must be a batch, of rank >= 2. Received: y with shape {tuple(y.shape)}"
        )
    return ops.convert_to_tensor(y)


def extract_score_function(denoiser, y, sigma):
    """The score grad_y log p_sigma(y) from a denoiser, by Miyasawa's identity.

    `(denoiser(y) - y) / sigma^2`, with the name and meaning of the guide to the
    theorem. With a blind denoiser, `sigma` is the noise level of `y` (given,
    not estimated; see `score` for the blind estimate).

    Args:
        denoiser: a blind or noise-conditional denoiser (see module docstring).
        y: noisy batch, float, shape `(batch, ...)`.
        sigma: float > 0 or `(batch,)` tensor, the noise standard deviation.

    Returns:
        The score, shaped like `y`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), 1.0)
    >>> y = np.array([[1.0, -2.0]])
    >>> np.asarray(km.extract_score_function(prior, y, 1.0))  # -y / (1 + 1)
    array([[-0.5,  1. ]])
    """
    y = _check_y(y)
    fn, _ = as_denoise_fn(denoiser)
    residual = fn(y, sigma) - y
    # Miyasawa: x_hat - y = sigma^2 * grad log p(y).
    return residual / ops.square(_sigma_like(sigma, y))


def estimate_noise_level(denoiser, y):
    """Blind per-example noise estimate sigma_hat = ||x_hat(y) - y|| / sqrt(N).

    N is the number of values per example. For a good denoiser the residual is
    close to minus the noise, so sigma_hat is close to the true sigma (slightly
    below: the residual misses the noise component along the signal).

    Args:
        denoiser: a blind denoiser (a Keras model or a one-argument callable).
        y: noisy batch, float, shape `(batch, ...)`.

    Returns:
        A `(batch,)` tensor.

    Raises:
        TypeError: for a noise-conditional denoiser, which needs sigma.
    """
    y = _check_y(y)
    fn, conditional = as_denoise_fn(denoiser)
    if conditional:
        raise TypeError(
            "estimate_noise_level needs a blind denoiser y -> x_hat; a "
            "noise-conditional one needs sigma already. Received: denoiser of type "
            f"{type(denoiser).__name__}. For a prior, use prior.blind_denoiser(...)."
        )
    residual = ops.reshape(fn(y, None) - y, (ops.shape(y)[0], -1))
    n = ops.cast(ops.shape(residual)[1], residual.dtype)
    return ops.sqrt(ops.sum(ops.square(residual), axis=-1) / n)


def score(denoiser, y, sigma=None):
    """The score grad_y log p(y) of a denoiser's implicit prior at `y`.

    Like `extract_score_function`, but `sigma` may be omitted for a blind
    denoiser: it is then estimated per example with `estimate_noise_level`.

    Args:
        denoiser: a blind or noise-conditional denoiser.
        y: noisy batch, float.
        sigma: optional float or `(batch,)`; required for a conditional denoiser.

    Returns:
        The score, shaped like `y`.
    """
    y = _check_y(y)
    if sigma is not None:
        return extract_score_function(denoiser, y, sigma)
    fn, conditional = as_denoise_fn(denoiser)
    if conditional:
        raise ValueError(
            "sigma is required with a noise-conditional denoiser. Received: sigma=None"
        )
    residual = fn(y, None) - y
    flat = ops.reshape(residual, (ops.shape(y)[0], -1))
    variance = ops.mean(ops.square(flat), axis=-1)
    variance = ops.reshape(variance, (-1,) + (1,) * (len(y.shape) - 1))
    return residual / variance


def energy_gradient(denoiser, y, sigma=None):
    """grad_y E(y) for the energy E = -log p(y): minus `score`."""
    return -score(denoiser, y, sigma)


def denoise_from_score(score_fn, y, sigma):
    """The inverse direction of Miyasawa's identity: x_hat = y + sigma^2 * score.

    Args:
        score_fn: `y -> score` or `(y, sigma) -> score`, or a `Prior`.
        y: noisy batch, float.
        sigma: float > 0 or `(batch,)`.

    Returns:
        The MMSE estimate implied by the score, shaped like `y`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(1), 1.0)
    >>> np.asarray(km.denoise_from_score(prior, np.array([[2.0]]), 1.0))
    array([[1.]])
    """
    y = _check_y(y)
    if isinstance(score_fn, Prior):
        s = score_fn.score(y, sigma)
    elif not callable(score_fn):
        raise TypeError(
            "score_fn must be a callable or a Prior. Received: score_fn of type "
            f"{type(score_fn).__name__}"
        )
    elif _positional_arity(score_fn) >= 2:
        s = score_fn(y, sigma)
    else:
        s = score_fn(y)
    return y + ops.square(_sigma_like(sigma, y)) * s
