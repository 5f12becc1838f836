"""Regularization by denoising (Romano, Elad, Milanfar 2017)."""

import tensorflow as tf

from keras_miyasawa.samplers import _common


def _build(denoiser_handle, operator_handle, record, jit_compile):
    def step_impl(x, measurement, lam, sigma):
        fn, _ = _common.denoise_fn(denoiser_handle())
        operator = operator_handle()
        f = fn(x, sigma)
        # Fixed point of M (M^T x - x_c) + lam (x - f(x)) = 0 with f frozen:
        # (M M^T + lam I) x = M x_c + lam f, and M M^T a projection, gives
        # x = f + M (x_c - M^T f) / (1 + lam).
        return f + operator.adjoint(measurement - operator.forward(f)) / (1.0 + lam)

    step = tf.function(step_impl, jit_compile=True) if jit_compile else step_impl

    @tf.function
    def run(x0, measurement, lam, sigma, num_steps, every):
        _common.TRACE_COUNTS["red"] += 1
        batch = tf.shape(x0)[0]
        trajectory = _common.maybe_record(
            _common.new_trajectory(), record, 0, every, x0
        )

        def cond(t, x, trajectory, diverged_step, bad):
            return (t < num_steps) & (diverged_step < 0)

        def body(t, x, trajectory, diverged_step, bad):
            x_new = step(x, measurement, lam, sigma)
            bad_now = tf.logical_not(_common.per_chain_finite(x_new))
            diverged = tf.reduce_any(bad_now)
            x = tf.where(diverged, x, x_new)
            diverged_step = tf.where(diverged, t + 1, diverged_step)
            trajectory = _common.maybe_record(trajectory, record, t + 1, every, x)
            return t + 1, x, trajectory, diverged_step, bad | bad_now

        _, x, trajectory, diverged_step, bad = tf.while_loop(
            cond,
            body,
            (tf.constant(0), x0, trajectory, tf.constant(-1), tf.zeros([batch], bool)),
        )
        return x, _common.stack_trajectory(trajectory, record), diverged_step, bad

    return run


def red(
    denoiser,
    operator,
    measurement,
    sigma=None,
    lam=0.1,
    num_steps=100,
    project=False,
    init=None,
    trajectory_every=0,
    jit_compile=False,
    fold_batch_norm=True,
):
    """Deterministic reconstruction by regularization by denoising (RED).

    Minimizes `1/2 ||M^T x - x_c||^2 + lam/2 x^T (x - f(x))` by Romano et
    al.'s fixed-point iteration. RED's gradient is `M (M^T x - x_c) +
    lam (x - f(x))`; with `f` frozen at the current iterate and `M M^T` a
    projection (`M^T M = I`), each step has the closed form

        x <- f(x) + M (x_c - M^T f(x)) / (1 + lam).

    Small `lam` follows the measurements closely; large `lam` trusts the
    denoiser. A baseline for `solve_inverse_problem`: no noise injection, no
    schedule, and a denoiser applied at one noise level only.

    Args:
        denoiser: a blind denoiser `y -> x_hat`, or a noise-conditional one
            `(y, sigma) -> x_hat` with its noise level `sigma`.
        operator: a built `keras_miyasawa.operators.Operator`.
        measurement: `(batch, *operator.measurement_shape)`.
        sigma: float > 0, the denoiser's noise level; required for a
            noise-conditional denoiser, not accepted for a blind one.
        lam: float > 0, the regularization weight. Defaults to `0.1`.
        num_steps: int >= 1, the fixed-point iterations. Defaults to `100`.
        project: bool, end with the exact projection onto the measurement
            constraint. Defaults to `False`.
        init: optional start; by default `operator.mean_fill(measurement)`.
        trajectory_every: int >= 0; when positive, also return `x` at step 0
            and every that many steps.
        jit_compile: bool, compile each step with XLA. Defaults to `False`.
        fold_batch_norm: bool; when the denoiser is a
            `keras_miyasawa.models.Denoiser` with batch norm (`DnCNN`,
            `UNet`), run on `keras_miyasawa.models.fold_batch_norm(denoiser)`
            (the same outputs to about 1e-6 relative, one elementwise pass
            fewer per hidden block; cached per model, refolded when its
            weights change). Defaults to `True`.

    Returns:
        The reconstructions `(batch, *operator.image_shape)`, or
        `(reconstructions, trajectory)`.

    Raises:
        DivergenceError: an iterate reached NaN or inf.
        ValueError: a missing or unexpected `sigma`, or an argument out of
            range.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> covariance = 0.01 * np.eye(16) + 0.04  # correlated pixels
    >>> prior = km.priors.Gaussian(np.full((4, 4, 1), 0.5), covariance)
    >>> op = km.operators.RandomPixels(0.5, seed=0, image_shape=(4, 4, 1))
    >>> x = prior.sample(1, seed=0)
    >>> x_hat = km.samplers.red(prior, op, op.forward(x), sigma=0.1, num_steps=50)
    >>> x_hat.shape
    TensorShape([1, 4, 4, 1])

    Reference:
        Romano, Elad, Milanfar. "The little engine that could: regularization
        by denoising (RED)." SIAM J. Imaging Sciences 2017.
    """
    lam = _common.float_arg(lam, "lam", low=0.0)
    num_steps = _common.int_arg(num_steps, "num_steps")
    trajectory_every = _common.int_arg(trajectory_every, "trajectory_every", 0)
    denoiser = _common.inference_denoiser(denoiser, fold_batch_norm)
    _, conditional = _common.denoise_fn(denoiser)
    if conditional and sigma is None:
        raise ValueError(
            "red needs the noise level sigma of a noise-conditional denoiser. "
            "Received: sigma=None"
        )
    if not conditional and sigma is not None:
        raise ValueError(
            "sigma is only used by a noise-conditional denoiser; a blind one picks "
            f"its own strength. Received: sigma={sigma!r} with a blind denoiser"
        )
    sigma = 1.0 if sigma is None else _common.float_arg(sigma, "sigma", low=0.0)
    measurement = _common.check_operator(operator, measurement)
    if init is None:
        x0 = tf.convert_to_tensor(operator.mean_fill(measurement))
    else:
        x0 = _common.tensor_arg(init, "init")
        expected = (int(measurement.shape[0]), *operator.image_shape)
        if tuple(x0.shape) != expected:
            raise ValueError(
                f"init must have shape {expected}. Received: init with shape "
                f"{tuple(x0.shape)}"
            )
    record = trajectory_every > 0
    run = _common.cached_function(
        "red", denoiser, operator, (record, bool(jit_compile)), _build
    )
    x, trajectory, diverged_step, bad = run(
        x0,
        measurement,
        tf.constant(lam, tf.float32),
        tf.constant(sigma, tf.float32),
        tf.constant(num_steps),
        tf.constant(max(trajectory_every, 1)),
    )
    _common.raise_if_diverged(
        "red", diverged_step, bad, "Check that the denoiser is stable (f(x) bounded)."
    )
    if project:
        x = operator.enforce(x, measurement)
    return (x, trajectory) if record else x
