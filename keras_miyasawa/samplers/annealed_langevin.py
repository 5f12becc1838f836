"""Annealed Langevin dynamics (Song & Ermon 2019) with denoiser scores."""

import tensorflow as tf

from keras_miyasawa.samplers import _common
from keras_miyasawa.samplers import _langevin_loop


def _schedule(t, params):
    sigma_max, sigma_min, num_levels, steps_per_level, epsilon = params
    level = tf.cast(t // tf.cast(steps_per_level, tf.int32), sigma_max.dtype)
    last = tf.maximum(num_levels - 1.0, 1.0)
    # Geometric levels sigma_i = sigma_max (sigma_min / sigma_max)^(i / (L - 1)).
    sigma = tf.where(
        num_levels > 1.0,
        sigma_max * tf.pow(sigma_min / sigma_max, level / last),
        sigma_min,
    )
    # Song & Ermon, Alg. 1: alpha_i = eps sigma_i^2 / sigma_L^2, and the update
    # x + alpha_i / 2 * score + sqrt(alpha_i) z is ours with a_t = alpha_i / 2.
    alpha = epsilon * tf.square(sigma / sigma_min)
    return sigma, 0.5 * alpha


def _build(denoiser_handle, operator_handle, record, jit_compile):
    del operator_handle
    return _langevin_loop.build(
        "annealed_langevin",
        denoiser_handle,
        _schedule,
        record,
        jit_compile,
        final_denoise=True,
    )


def annealed_langevin(
    denoiser,
    sample_shape,
    sigma_max=1.0,
    sigma_min=0.01,
    num_levels=10,
    steps_per_level=100,
    epsilon=2e-5,
    final_denoise=True,
    init=None,
    init_mean=0.5,
    seed=None,
    trajectory_every=0,
    jit_compile=False,
    fold_batch_norm=True,
):
    """Annealed Langevin dynamics over a geometric sequence of noise levels.

    Song & Ermon's Algorithm 1 with the score of the denoiser at each level:
    for `i = 1..L` with `sigma_i` geometric from `sigma_max` to `sigma_min`,
    `alpha_i = epsilon * sigma_i^2 / sigma_min^2`, and `steps_per_level`
    times

        x <- x + alpha_i / 2 * score(x, sigma_i) + sqrt(alpha_i) z,
        score(x, sigma) = (x_hat(x, sigma) - x) / sigma^2     # Miyasawa

    then, optionally, one denoising step `x <- x_hat(x, sigma_min)`
    (Tweedie's formula; Jolicoeur-Martineau et al. 2021). With the exact
    score of a prior (a noise-conditional denoiser such as
    `keras_miyasawa.priors.GaussianMixture`), this samples the prior up to
    the discretization error. A blind denoiser gets `x` alone; the sampler
    still divides its residual by the nominal `sigma_i^2`.

    Args:
        denoiser: a noise-conditional denoiser `(y, sigma) -> x_hat` (a
            `Prior` or a two-argument callable) or a blind one `y -> x_hat`.
        sample_shape: `(num_chains, *event_shape)`.
        sigma_max: float > 0, the first noise level (about the largest
            distance between data points). Defaults to `1.0`.
        sigma_min: float in (0, sigma_max], the last level. Defaults to `0.01`.
        num_levels: int >= 1, `L`. Defaults to `10`.
        steps_per_level: int >= 1, `T`. Defaults to `100`.
        epsilon: float > 0, the step at the last level. Defaults to `2e-5`.
        final_denoise: bool. Defaults to `True`.
        init: optional starting point of shape `sample_shape`; by default
            `init_mean + sigma_max * z`.
        init_mean: float, the mean of the default start (0.5: mid-gray).
        seed: optional int; the same seed gives the same samples.
        trajectory_every: int >= 0; when positive, also return `x` at step 0
            and every `trajectory_every` steps.
        jit_compile: bool, compile the step with XLA. Defaults to `False`.
        fold_batch_norm: bool; when the denoiser is a
            `keras_miyasawa.models.Denoiser` with batch norm (`DnCNN`,
            `UNet`), run on `keras_miyasawa.models.fold_batch_norm(denoiser)`
            (the same outputs to about 1e-6 relative, one elementwise pass
            fewer per hidden block; cached per model, refolded when its
            weights change). Defaults to `True`.

    Returns:
        The samples `(num_chains, *event_shape)`, or `(samples, trajectory)`.

    Raises:
        DivergenceError: a chain reached NaN or inf (`epsilon` too large).
        ValueError: an argument out of range.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.GaussianMixture([0.3, 0.7], [[-2.0], [2.0]], 0.25)
    >>> x = km.samplers.annealed_langevin(
    ...     prior, (1000, 1), sigma_max=4.0, sigma_min=0.05, epsilon=1e-4,
    ...     init_mean=0.0, seed=0)
    >>> round(float(np.mean(np.asarray(x) > 0)), 1)
    0.7

    Reference:
        Song, Ermon. "Generative modeling by estimating gradients of the data
        distribution." NeurIPS 2019, Algorithm 1.
    """
    sample_shape = _common.sample_shape_arg(sample_shape)
    sigma_max = _common.float_arg(sigma_max, "sigma_max", low=0.0)
    sigma_min = _common.float_arg(sigma_min, "sigma_min", low=0.0, high=sigma_max)
    num_levels = _common.int_arg(num_levels, "num_levels")
    steps_per_level = _common.int_arg(steps_per_level, "steps_per_level")
    epsilon = _common.float_arg(epsilon, "epsilon", low=0.0)
    init_mean = _common.float_arg(init_mean, "init_mean", low=None)
    trajectory_every = _common.int_arg(trajectory_every, "trajectory_every", 0)
    denoiser = _common.inference_denoiser(denoiser, fold_batch_norm)
    _common.denoise_fn(denoiser)  # type check
    record = trajectory_every > 0
    run = _common.cached_function(
        "annealed_langevin", denoiser, None, (record, bool(jit_compile)), _build
    )
    seed = _common.seed_tensor(seed)
    if init is None:
        z = _common.normal(sample_shape, _common.step_seed(seed, 0))
        y0 = init_mean + sigma_max * z
    else:
        y0 = _common.tensor_arg(init, "init")
        if tuple(y0.shape) != sample_shape:
            raise ValueError(
                f"init must have shape sample_shape={sample_shape}. Received: init "
                f"with shape {tuple(y0.shape)}"
            )
    params = tuple(
        tf.constant(float(v), tf.float32)
        for v in (sigma_max, sigma_min, num_levels, steps_per_level, epsilon)
    )
    y, x_hat, trajectory, diverged_step, bad = run(
        y0,
        params,
        tf.constant(num_levels * steps_per_level),
        params[1],
        seed,
        tf.constant(max(trajectory_every, 1)),
    )
    _common.raise_if_diverged(
        "annealed_langevin",
        diverged_step,
        bad,
        f"The step at the first level is epsilon * (sigma_max / sigma_min)^2 = "
        f"{epsilon * (sigma_max / sigma_min) ** 2:.3g}; reduce epsilon or "
        "sigma_max / sigma_min.",
    )
    samples = x_hat if final_denoise else y
    return (samples, trajectory) if record else samples
