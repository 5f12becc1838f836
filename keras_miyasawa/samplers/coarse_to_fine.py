"""Kadkhodaie & Simoncelli's stochastic coarse-to-fine gradient ascent."""

import tensorflow as tf

from keras_miyasawa.samplers import _coarse_to_fine_loop
from keras_miyasawa.samplers import _common


def coarse_to_fine(
    denoiser,
    sample_shape=None,
    h0=0.01,
    beta=0.01,
    sigma_0=1.0,
    sigma_L=0.01,
    max_steps=1000,
    final_denoise=True,
    init=None,
    init_mean=0.5,
    seed=None,
    trajectory_every=0,
    jit_compile=False,
    fold_batch_norm=True,
):
    """Draws samples from the prior implicit in a blind denoiser (Algorithm 1).

    Starting from `y_0 ~ N(init_mean, sigma_0^2 I)`, each chain takes partial
    denoising steps with injected noise, and the effective noise level is
    read off the residual itself, so no schedule is needed:

        d_t = f(y_{t-1}) - y_{t-1}                 # = sigma^2 grad log p(y)
        sigma_t = ||d_t|| / sqrt(N)
        h_t = h0 t / (1 + h0 (t - 1))
        gamma_t = sigma_t sqrt((1 - beta h_t)^2 - (1 - h_t)^2)
        y_t = y_{t-1} + h_t d_t + gamma_t z_t,     z_t ~ N(0, I)

    As in the authors' reference code, a chain stops at the first iteration
    whose `sigma_t <= sigma_L`, without that iteration's update, and its
    result is that iteration's `f(y_{t-1})` (`final_denoise=True`) or
    `y_{t-1}` itself; `num_steps` counts the `sigma_t` evaluated, one more
    than the updates. Each chain of the batch stops on its own and is frozen
    afterwards; `max_steps` bounds the loop (a `RuntimeWarning` names the
    chains that did not converge, which are denoised once more). With the
    reference `dncnn/bias_free/0-100` network, `beta=1`, `h0=0.01` and
    `sigma_L=0.01`, it retraces the reference runs to 1e-6.

    `beta = 1` is a deterministic ascent to a nearby mode (no noise is
    injected); smaller `beta` injects more noise and explores more (the paper
    uses 0.01 to 0.5), so that chains reach the modes in proportion to their
    mass. Either way a chain ends where the denoiser's residual vanishes: for
    images (data near a low-dimensional set) that is near the data; for an
    analytic prior with full-dimensional components, near the modes of the
    blind denoiser's smoothed density, whatever `beta`. The method assumes
    that the residual is mostly noise: for a prior in a few dimensions, pass
    a blind denoiser whose sigma range is of the order of the data's spread
    (in 2-D, a range much wider than that makes the blind MMSE denoiser
    shrink every chain to a single point).

    Args:
        denoiser: a blind denoiser `y -> x_hat`: a Keras model or a
            one-argument callable, e.g. `prior.blind_denoiser(sigma_range)`.
        sample_shape: `(num_chains, *event_shape)`; optional with `init`.
        h0: float in (0, 1], the first step size. Defaults to `0.01`.
        beta: float in (0, 1], the fraction of noise removed per step (1 =
            deterministic). Defaults to `0.01`.
        sigma_0: float > 0, the noise level of the start. Defaults to `1.0`.
        sigma_L: float in (0, sigma_0), the stopping level. Defaults to `0.01`.
        max_steps: int >= 1, the bound on the iterations. Defaults to `1000`.
        final_denoise: bool, return `f(y)` (`True`) or `y` at the stop.
            Defaults to `True`.
        init: optional start `y_0` (for example to continue or to compare
            with a reference run), used instead of a draw from
            `N(init_mean, sigma_0^2 I)`.
        init_mean: float, the mean of the default start. Defaults to `0.5`.
        seed: optional int; the same seed gives the same samples.
        trajectory_every: int >= 0; when positive, keep `y_t` every that many
            iterations.
        jit_compile: bool, compile each step with XLA. Defaults to `False`.
        fold_batch_norm: bool; when the denoiser is a
            `keras_miyasawa.models.Denoiser` with batch norm (`DnCNN`,
            `UNet`), run on `keras_miyasawa.models.fold_batch_norm(denoiser)`,
            which gives the same outputs (to about 1e-6 relative) with one
            elementwise pass fewer per hidden block. The folded copy is
            cached per model and refolded when its weights change. Defaults
            to `True`.

    Returns:
        A `keras_miyasawa.samplers.SamplerResult` with `samples`, the
        per-chain `sigmas` trajectory, `num_steps`, `converged` and the
        optional `trajectory`.

    Raises:
        TypeError: a noise-conditional denoiser (the algorithm needs a blind
            one).
        DivergenceError: a chain reached NaN or inf.
        ValueError: an argument out of range.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> means = np.stack([np.zeros(16), np.ones(16)])
    >>> prior = km.priors.GaussianMixture([0.5, 0.5], means, 0.01)
    >>> blind = prior.blind_denoiser((0.0, 2.0), num_nodes=8)
    >>> result = km.samplers.coarse_to_fine(
    ...     blind, (8, 16), h0=0.1, beta=0.5, sigma_0=2.0, seed=0)
    >>> result.samples.shape
    TensorShape([8, 16])
    >>> bool(result.converged.all())
    True
    >>> nearest = np.abs(np.asarray(result.samples)[:, None] - means).mean(-1).min(-1)
    >>> bool(np.all(nearest < 0.3))  # every sample near a component
    True

    Reference:
        Kadkhodaie, Simoncelli. "Solving linear inverse problems using the
        prior implicit in a denoiser." NeurIPS 2021 (arXiv 2007.13640),
        Algorithm 1.
    """
    h0, beta, sigma_0, sigma_L, max_steps, trajectory_every = (
        _coarse_to_fine_loop.check_hyperparameters(
            h0, beta, sigma_0, sigma_L, max_steps, trajectory_every
        )
    )
    init_mean = _common.float_arg(init_mean, "init_mean", low=None)
    _common.require_blind(denoiser, "coarse_to_fine")
    seed = _common.seed_tensor(seed)
    if init is not None:
        y0 = _common.tensor_arg(init, "init")
        if sample_shape is not None and tuple(sample_shape) != tuple(y0.shape):
            raise ValueError(
                f"init must have shape sample_shape={tuple(sample_shape)}. "
                f"Received: init with shape {tuple(y0.shape)}"
            )
    elif sample_shape is None:
        raise ValueError(
            "coarse_to_fine needs sample_shape or init. Received: sample_shape=None, "
            "init=None"
        )
    else:
        shape = _common.sample_shape_arg(sample_shape)
        z = _common.normal(shape, _common.step_seed(seed, 0))
        y0 = init_mean + sigma_0 * z
    y, x_hat, result = _coarse_to_fine_loop.run(
        "coarse_to_fine",
        denoiser,
        None,
        y0,
        tf.zeros((0,)),
        h0,
        beta,
        sigma_L,
        max_steps,
        seed,
        trajectory_every,
        jit_compile,
        fold_batch_norm,
    )
    return result._replace(samples=x_hat if final_denoise else y)
