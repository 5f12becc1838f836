"""The compiled loop of Kadkhodaie & Simoncelli's coarse-to-fine ascent,
shared by `coarse_to_fine` (Algorithm 1) and `solve_inverse_problem`
(Algorithm 2, which adds the measurement constraint)."""

import functools
import warnings

import numpy as np
import tensorflow as tf

from keras_miyasawa.samplers import _common
from keras_miyasawa.samplers.sampler_result import SamplerResult


def build(name, denoiser_handle, operator_handle, record, jit_compile):
    """Compiles the loop for one blind denoiser (and operator, for Algorithm 2).

    Returns:
        `run(y0, measurement, h0, beta, sigma_L, max_steps, seed, every)`, a
        `tf.function` returning `(y, x_hat, sigmas, num_steps, active,
        trajectory, diverged_step, bad_chains)`: the last state `y` of each
        chain and its denoised `x_hat = f(y)`.
    """

    def denoise(y):
        fn, _ = _common.denoise_fn(denoiser_handle())
        return fn(y, None)

    def step_impl(y, measurement, t, h0, beta, z):
        x_hat = denoise(y)
        d = x_hat - y
        operator = operator_handle()
        if operator is not None:
            # Algorithm 2: d_t = (I - M M^T) (f(y) - y) + M (x_c - M^T y)
            #                  = (f(y) - y) + M (x_c - M^T f(y)).
            d = d + operator.adjoint(measurement - operator.forward(x_hat))
        values = tf.cast(tf.reduce_prod(tf.shape(d)[1:]), d.dtype)
        axes = list(range(1, d.shape.rank))
        sigma = tf.sqrt(tf.reduce_sum(tf.square(d), axis=axes) / values)
        t = tf.cast(t, d.dtype)
        h = h0 * t / (1.0 + h0 * (t - 1.0))
        # gamma_t^2 = ((1 - beta h_t)^2 - (1 - h_t)^2) sigma_t^2
        spread = tf.square(1.0 - beta * h) - tf.square(1.0 - h)
        gamma = sigma * tf.sqrt(tf.maximum(spread, 0.0))
        gamma = _common.broadcast_per_chain(gamma, y)
        return y + h * d + gamma * z, sigma, x_hat

    step = tf.function(step_impl, jit_compile=True) if jit_compile else step_impl

    @tf.function
    def run(y0, measurement, h0, beta, sigma_L, max_steps, seed, every):
        _common.TRACE_COUNTS[name] += 1
        batch = tf.shape(y0)[0]
        sigmas = tf.TensorArray(y0.dtype, size=0, dynamic_size=True)
        trajectory = _common.new_trajectory()
        trajectory = _common.maybe_record(trajectory, record, 0, every, y0)

        def cond(t, y, x_final, active, steps, sigmas, trajectory, diverged, bad):
            return (t <= max_steps) & tf.reduce_any(active) & (diverged < 0)

        def body(t, y, x_final, active, steps, sigmas, trajectory, diverged, bad):
            # Noise is drawn outside the (optionally XLA-compiled) step, so
            # that jit_compile does not change the random numbers.
            z = _common.normal(tf.shape(y), _common.step_seed(seed, t), y.dtype)
            y_new, sigma, x_hat = step(y, measurement, t, h0, beta, z)
            # sigma_t is finite iff every value of d_t is and sum(d_t^2) does
            # not overflow; then f(y) = y + d_t and y_t are finite too, so one
            # check per chain replaces two reductions over every value.
            finite = tf.math.is_finite(sigma)
            bad_now = active & tf.logical_not(finite)
            diverged = tf.where(tf.reduce_any(bad_now), t, diverged)
            ok = active & finite
            # As in the reference code: a chain whose sigma_t is at or below
            # sigma_L stops there, without the update, and its result is the
            # denoised f(y_{t-1}) of this iteration; it stays frozen after.
            stopping = ok & (sigma <= sigma_L)
            moving = ok & (sigma > sigma_L)
            y = tf.where(_common.broadcast_per_chain(moving, y), y_new, y)
            x_final = tf.where(_common.broadcast_per_chain(stopping, y), x_hat, x_final)
            sigmas = sigmas.write(t - 1, tf.where(ok, sigma, tf.zeros_like(sigma)))
            steps = steps + tf.cast(active, tf.int32)
            trajectory = _common.maybe_record(trajectory, record, t, every, y)
            return (
                t + 1,
                y,
                x_final,
                moving,
                steps,
                sigmas,
                trajectory,
                diverged,
                bad | bad_now,
            )

        loop_vars = (
            tf.constant(1),
            y0,
            y0,
            tf.ones([batch], bool),
            tf.zeros([batch], tf.int32),
            sigmas,
            trajectory,
            tf.constant(-1),
            tf.zeros([batch], bool),
        )
        _, y, x_final, active, steps, sigmas, trajectory, diverged, bad = tf.while_loop(
            cond, body, loop_vars
        )

        # Chains stopped by max_steps are denoised once more.
        def denoise_unfinished():
            mask = _common.broadcast_per_chain(active, y)
            return tf.where(mask, denoise(y), x_final)

        x_final = tf.cond(
            tf.reduce_any(active) & (diverged < 0), denoise_unfinished, lambda: x_final
        )
        final_bad = tf.logical_not(_common.per_chain_finite(x_final))
        diverged = tf.where(
            (diverged < 0) & tf.reduce_any(final_bad), tf.reduce_max(steps), diverged
        )
        return (
            y,
            x_final,
            tf.transpose(sigmas.stack()),
            steps,
            active,
            _common.stack_trajectory(trajectory, record),
            diverged,
            bad | final_bad,
        )

    return run


def check_hyperparameters(h0, beta, sigma_0, sigma_L, max_steps, trajectory_every):
    h0 = _common.float_arg(h0, "h0", low=0.0, high=1.0)
    beta = _common.float_arg(beta, "beta", low=0.0, high=1.0)
    sigma_0 = _common.float_arg(sigma_0, "sigma_0", low=0.0)
    sigma_L = _common.float_arg(
        sigma_L, "sigma_L", low=0.0, high=sigma_0, high_open=True
    )
    max_steps = _common.int_arg(max_steps, "max_steps")
    trajectory_every = _common.int_arg(trajectory_every, "trajectory_every", 0)
    return h0, beta, sigma_0, sigma_L, max_steps, trajectory_every


def run(
    name,
    denoiser,
    operator,
    y0,
    measurement,
    h0,
    beta,
    sigma_L,
    max_steps,
    seed,
    trajectory_every,
    jit_compile,
    fold_batch_norm,
):
    """Runs the cached compiled loop of sampler `name`; returns `(y, x_hat, result)`.

    Reports divergence as an error and unconverged chains as a warning.
    """
    record = trajectory_every > 0
    denoiser = _common.inference_denoiser(denoiser, fold_batch_norm)
    loop = _common.cached_function(
        name,
        denoiser,
        operator,
        (record, bool(jit_compile)),
        functools.partial(build, name),
    )
    y, x_hat, sigmas, steps, active, trajectory, diverged_step, bad = loop(
        y0,
        measurement,
        tf.constant(h0, tf.float32),
        tf.constant(beta, tf.float32),
        tf.constant(sigma_L, tf.float32),
        tf.constant(max_steps),
        seed,
        tf.constant(max(trajectory_every, 1)),
    )
    _common.raise_if_diverged(
        name,
        diverged_step,
        bad,
        "With a blind denoiser this usually means the denoiser amplifies its input "
        "(check it on noisy images) or h0 is too large; try h0=0.01.",
    )
    steps = np.asarray(steps)
    result = SamplerResult(
        samples=None,
        sigmas=np.asarray(sigmas)[:, : int(steps.max())],
        num_steps=steps,
        converged=~np.asarray(active),
        trajectory=trajectory if record else None,
    )
    _warn_unconverged(name, result, sigma_L, max_steps)
    return y, x_hat, result


def _warn_unconverged(name, result, sigma_L, max_steps):
    stuck = (~result.converged).nonzero()[0]
    if stuck.size:
        last = result.sigmas[stuck, -1]
        warnings.warn(
            f"{name}: {stuck.size} chain(s) {stuck[:10].tolist()} did not reach "
            f"sigma_L={sigma_L} within max_steps={max_steps} (last sigma_t "
            f"{float(last.min()):.3g} to {float(last.max()):.3g}); see "
            "result.converged. Raise max_steps or h0.",
            RuntimeWarning,
            stacklevel=4,  # the frame that called the sampler
        )
