"""The guide's Langevin sampler with denoiser scores, compiled."""

import tensorflow as tf

from keras_miyasawa.samplers import _common
from keras_miyasawa.samplers import _langevin_loop


def _schedule(t, params):
    sigma, step_size, decay_rate = params
    # sigma <- sigma * decay_rate after every step.
    return sigma * tf.pow(decay_rate, tf.cast(t, sigma.dtype)), step_size


def _build(denoiser_handle, operator_handle, record, jit_compile):
    del operator_handle
    return _langevin_loop.build(
        "sample_with_denoiser",
        denoiser_handle,
        _schedule,
        record,
        jit_compile,
        final_denoise=False,
    )


def sample_with_denoiser(
    denoiser,
    sample_shape,
    sigma,
    num_steps=1000,
    step_size=0.01,
    decay_rate=0.99,
    seed=None,
    trajectory_every=0,
    jit_compile=False,
    fold_batch_norm=True,
):
    """Langevin dynamics with denoiser-based scores, as in the guide.

    Exactly the algorithm of the guide to Miyasawa's theorem, compiled into
    one `tf.function` with a `tf.while_loop`:

        y ~ N(0, I) of shape sample_shape
        repeat num_steps times:
            score = (denoiser(y) - y) / sigma^2      # Miyasawa
            y = y + step_size * score + sqrt(2 * step_size) * z,  z ~ N(0, I)
            sigma = sigma * decay_rate

    Its known shortcoming: the step size stays fixed while sigma decays
    (23000-fold over the default 1000 steps), so the effective step
    `step_size / sigma^2` on the residual grows as `decay_rate^(-2t)`. With a
    blind network, whose residual does not shrink with sigma, the iteration
    overshoots once that exceeds about 2 and blows up: this is reported as a
    `DivergenceError`, never returned as NaN. With an exact noise-conditional
    denoiser the residual shrinks like sigma^2, but in float32 it is then
    rounding error divided by sigma^2 ~ 2e-9, and the chains scatter (on a
    Gaussian mixture the two-sample test rejects). `annealed_langevin` (step
    proportional to sigma^2) and `coarse_to_fine` are the sound versions.

    Args:
        denoiser: a blind denoiser `y -> x_hat` (a Keras model, called with
            `training=False`) or a noise-conditional one `(y, sigma) -> x_hat`
            (e.g. a `keras_miyasawa.priors.Prior`), which gets the current
            sigma.
        sample_shape: `(num_chains, *event_shape)`, e.g. `(16, 40, 40, 1)`.
        sigma: float > 0, the initial noise level.
        num_steps: int >= 1. Defaults to `1000`.
        step_size: float > 0, the Langevin step. Defaults to `0.01`.
        decay_rate: float in (0, 1], sigma's factor per step. Defaults to
            `0.99`.
        seed: optional int; the same seed gives the same samples.
        trajectory_every: int >= 0; when positive, also return `y` at step 0
            and every `trajectory_every` steps.
        jit_compile: bool, compile the step with XLA. Defaults to `False`.
        fold_batch_norm: bool; when the denoiser is a
            `keras_miyasawa.models.Denoiser` with batch norm (`DnCNN`,
            `UNet`), run on `keras_miyasawa.models.fold_batch_norm(denoiser)`
            (the same outputs to about 1e-6 relative, one elementwise pass
            fewer per hidden block; cached per model, refolded when its
            weights change). Defaults to `True`.

    Returns:
        The samples `(num_chains, *event_shape)`, or `(samples, trajectory)`
        with a trajectory `(R, num_chains, *event_shape)`.

    Raises:
        DivergenceError: a chain reached NaN or inf.
        ValueError: an argument out of range.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), 1.0)
    >>> x = km.samplers.sample_with_denoiser(
    ...     prior, (500, 2), sigma=0.5, num_steps=200, step_size=0.01,
    ...     decay_rate=1.0, seed=0)
    >>> x.shape
    TensorShape([500, 2])
    """
    sample_shape = _common.sample_shape_arg(sample_shape)
    sigma = _common.float_arg(sigma, "sigma", low=0.0)
    num_steps = _common.int_arg(num_steps, "num_steps")
    step_size = _common.float_arg(step_size, "step_size", low=0.0)
    decay_rate = _common.float_arg(decay_rate, "decay_rate", low=0.0, high=1.0)
    trajectory_every = _common.int_arg(trajectory_every, "trajectory_every", 0)
    denoiser = _common.inference_denoiser(denoiser, fold_batch_norm)
    _common.denoise_fn(denoiser)  # type check
    record = trajectory_every > 0
    run = _common.cached_function(
        "sample_with_denoiser", denoiser, None, (record, bool(jit_compile)), _build
    )
    seed = _common.seed_tensor(seed)
    y0 = _common.normal(sample_shape, _common.step_seed(seed, 0))
    params = tuple(tf.constant(v, tf.float32) for v in (sigma, step_size, decay_rate))
    y, _, trajectory, diverged_step, bad = run(
        y0,
        params,
        tf.constant(num_steps),
        params[0],
        seed,
        tf.constant(max(trajectory_every, 1)),
    )
    step = int(diverged_step)
    if step >= 0:
        sigma_t = sigma * decay_rate ** max(step - 1, 0)
        ratio = step_size / sigma_t**2
        _common.raise_if_diverged(
            "sample_with_denoiser",
            diverged_step,
            bad,
            f"At that step sigma = {sigma_t:.3g} and step_size / sigma^2 = "
            f"{ratio:.3g}: the step stays fixed while sigma decays "
            f"({decay_rate}^t), so it overshoots once step_size / sigma^2 exceeds "
            "about 2. Use fewer steps, a smaller step_size, decay_rate closer to 1, "
            "or annealed_langevin / coarse_to_fine.",
        )
    return (y, trajectory) if record else y
