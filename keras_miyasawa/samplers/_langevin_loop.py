"""The compiled Langevin loop shared by `sample_with_denoiser` and
`annealed_langevin`: y <- y + a_t * score(y, sigma_t) + sqrt(2 a_t) z_t."""

import tensorflow as tf

from keras_miyasawa.samplers import _common


def build(name, denoiser_handle, schedule, record, jit_compile, final_denoise):
    """Compiles the loop for one denoiser and one schedule.

    Args:
        name: str, the sampler (for the trace counter).
        denoiser_handle: a `_common._Handle` of the denoiser.
        schedule: `schedule(t, params) -> (sigma_t, a_t)` for the 0-based step
            `t`, in TensorFlow ops; `params` is a tuple of scalar tensors.
        record: bool, whether to keep a trajectory.
        jit_compile: bool, compile the step with XLA.
        final_denoise: bool, whether to compute `x_hat` (else `x_hat = y`).

    Returns:
        `run(y, params, num_steps, final_sigma, seed, every)`, a `tf.function`
        returning `(y, x_hat, trajectory, diverged_step, bad_chains)` where
        `x_hat` is the denoised final state at `final_sigma`.
    """

    def denoise(y, sigma):
        fn, _ = _common.denoise_fn(denoiser_handle())
        return fn(y, sigma)

    def step_impl(y, sigma, step_size, z):
        # Miyasawa: score = (x_hat - y) / sigma^2.
        score = (denoise(y, sigma) - y) / (sigma * sigma)
        return y + step_size * score + tf.sqrt(2.0 * step_size) * z

    step = tf.function(step_impl, jit_compile=True) if jit_compile else step_impl

    @tf.function
    def run(y, params, num_steps, final_sigma, seed, every):
        _common.TRACE_COUNTS[name] += 1
        batch = tf.shape(y)[0]
        trajectory = _common.maybe_record(_common.new_trajectory(), record, 0, every, y)

        def cond(t, y, trajectory, diverged_step, bad):
            return tf.logical_and(t < num_steps, diverged_step < 0)

        def body(t, y, trajectory, diverged_step, bad):
            sigma, step_size = schedule(t, params)
            # Noise is drawn outside the (optionally XLA-compiled) step, so
            # that jit_compile does not change the random numbers.
            z = _common.normal(tf.shape(y), _common.step_seed(seed, t + 1), y.dtype)
            y_new = step(y, sigma, step_size, z)
            bad_now = tf.logical_not(_common.per_chain_finite(y_new))
            diverged = tf.reduce_any(bad_now)
            y = tf.where(diverged, y, y_new)
            diverged_step = tf.where(diverged, t + 1, diverged_step)
            trajectory = _common.maybe_record(trajectory, record, t + 1, every, y)
            return t + 1, y, trajectory, diverged_step, bad | bad_now

        _, y, trajectory, diverged_step, bad = tf.while_loop(
            cond,
            body,
            (tf.constant(0), y, trajectory, tf.constant(-1), tf.zeros([batch], bool)),
        )
        x_hat = denoise(y, final_sigma) if final_denoise else y
        final_bad = tf.logical_not(_common.per_chain_finite(x_hat))
        diverged_step = tf.where(
            (diverged_step < 0) & tf.reduce_any(final_bad), num_steps + 1, diverged_step
        )
        return (
            y,
            x_hat,
            _common.stack_trajectory(trajectory, record),
            diverged_step,
            bad | final_bad,
        )

    return run
