"""Linear inverse problems with the prior implicit in a denoiser."""

import tensorflow as tf

from keras_miyasawa.samplers import _coarse_to_fine_loop
from keras_miyasawa.samplers import _common


def solve_inverse_problem(
    denoiser,
    operator,
    measurement,
    h0=0.01,
    beta=0.01,
    sigma_0=1.0,
    sigma_L=0.01,
    max_steps=1000,
    final_denoise=True,
    denoise_measured=False,
    project=False,
    init=None,
    init_mean=0.5,
    seed=None,
    trajectory_every=0,
    jit_compile=False,
    fold_batch_norm=True,
):
    """Samples images consistent with linear measurements (Algorithm 2).

    For measurements `x_c = M^T x` of an unknown image `x` (with `M^T M = I`,
    see `keras_miyasawa.operators`), the coarse-to-fine ascent of
    `coarse_to_fine` runs with the denoiser's step confined to the unmeasured
    subspace and a step towards the measurements in the measured one:

        d_t = (I - M M^T) (f(y) - y) + M (x_c - M^T y)
        sigma_t = ||d_t|| / sqrt(N),  h_t, gamma_t, y_t as in Algorithm 1

    from `y_0 ~ N(init_mean (I - M M^T) e + M x_c, sigma_0^2 I)` until
    `sigma_t <= sigma_L`, stopping per chain as `coarse_to_fine` does, at the
    last iterate `y_T`. It is a sample from the prior conditioned on the
    measurements (`beta < 1`) or a nearby high-probability solution
    (`beta = 1`).

    The result is, by default, a final denoising step confined to the
    unmeasured subspace, as the denoiser's steps are in Algorithm 2, while
    the measured component stays that of the iterate:

        x = (I - M M^T) f(y_T) + M M^T y_T

    so `x` is exactly as consistent with the measurements as `y_T`, whose
    residual `M (x_c - M^T y_T)` is part of `d_T`:
    `||M^T x - x_c|| = ||M^T y_T - x_c|| <= ||d_T|| <= sigma_L sqrt(N)`, that
    is at most `sigma_L sqrt(N / m)` per measurement (2 `sigma_L` when a
    quarter of the values is measured); in practice
    `||M^T x - x_c|| / sqrt(m) <= 1.5 sigma_L` (measured on Set12 crops for
    the five operators of `keras_miyasawa.operators`, with 6% to 94% of the
    values measured; see `benchmarks/inverse_problems.py`). This keeps the
    denoiser where Algorithm 2 uses it, in the unmeasured subspace.
    `denoise_measured=True` returns `f(y_T)` in full, the output of the
    authors' reference code (their runs are retraced with it, to 1e-6): the
    denoiser then also moves the measured values, by up to about 3.5
    `sigma_L` for 10% random pixels and compressive sensing (and removes the
    about-`sigma_L` noise left in them, for up to 0.1 dB more PSNR).
    `final_denoise=False` returns `y_T` itself, and `project=True` ends with
    `x + M (x_c - M^T x)`, which satisfies the measurements exactly.

    Args:
        denoiser: a blind denoiser `y -> x_hat` (a Keras model or a
            one-argument callable).
        operator: a built `keras_miyasawa.operators.Operator`.
        measurement: `(batch, *operator.measurement_shape)`, noise-free
            measurements `M^T x`; each is solved by its own chain (repeat a
            measurement along the batch axis to draw several samples).
        h0: float in (0, 1], the first step size. Defaults to `0.01`.
        beta: float in (0, 1], 1 = deterministic. Defaults to `0.01`.
        sigma_0: float > 0, the noise level of the start. Defaults to `1.0`.
        sigma_L: float in (0, sigma_0), the stopping level. Defaults to `0.01`.
        max_steps: int >= 1. Defaults to `1000`.
        final_denoise: bool, end with the final denoising step (`True`) or
            return the last iterate `y_T`. Defaults to `True`.
        denoise_measured: bool, let the final denoising step replace the
            measured component too, returning `f(y_T)` (the reference
            code's output) instead of
            `(I - M M^T) f(y_T) + M M^T y_T`. Defaults to `False`.
        project: bool, end with the exact projection onto the measurement
            constraint. Defaults to `False`.
        init: optional start `y_0` of shape `(batch, *operator.image_shape)`.
        init_mean: float, the gray level of the unmeasured part of the start.
        seed: optional int; the same seed gives the same samples.
        trajectory_every: int >= 0, keep `y_t` every that many iterations.
        jit_compile: bool, compile each step with XLA. Defaults to `False`.
        fold_batch_norm: bool; when the denoiser is a
            `keras_miyasawa.models.Denoiser` with batch norm (`DnCNN`,
            `UNet`), run on `keras_miyasawa.models.fold_batch_norm(denoiser)`,
            which gives the same outputs (to about 1e-6 relative) with one
            elementwise pass fewer per hidden block. The folded copy is
            cached per model and refolded when its weights change. Defaults
            to `True`.

    Returns:
        A `keras_miyasawa.samplers.SamplerResult`.

    Raises:
        TypeError: a noise-conditional denoiser or a non-operator.
        DivergenceError: a chain reached NaN or inf.
        ValueError: a measurement of the wrong shape or an argument out of
            range.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> images = np.random.default_rng(0).uniform(size=(64, 4, 4, 1))
    >>> prior = km.priors.Empirical(images)
    >>> op = km.operators.Inpainting(hole=(0, 0, 2, 2), image_shape=(4, 4, 1))
    >>> x = images[3:4].astype("float32")
    >>> result = km.samplers.solve_inverse_problem(
    ...     prior.blind_denoiser((0.0, 1.0), num_nodes=8), op, op.forward(x),
    ...     beta=1.0, h0=0.1, seed=0)
    >>> float(np.abs(np.asarray(result.samples) - x).max()) < 0.05
    True

    Reference:
        Kadkhodaie, Simoncelli. "Solving linear inverse problems using the
        prior implicit in a denoiser." NeurIPS 2021 (arXiv 2007.13640),
        Algorithm 2.
    """
    h0, beta, sigma_0, sigma_L, max_steps, trajectory_every = (
        _coarse_to_fine_loop.check_hyperparameters(
            h0, beta, sigma_0, sigma_L, max_steps, trajectory_every
        )
    )
    init_mean = _common.float_arg(init_mean, "init_mean", low=None)
    _common.require_blind(denoiser, "solve_inverse_problem")
    measurement = _common.check_operator(operator, measurement)
    seed = _common.seed_tensor(seed)
    shape = (int(measurement.shape[0]), *operator.image_shape)
    if init is not None:
        y0 = _common.tensor_arg(init, "init")
        if tuple(y0.shape) != shape:
            raise ValueError(
                f"init must have shape {shape} (batch, *operator.image_shape). "
                f"Received: init with shape {tuple(y0.shape)}"
            )
    else:
        ones = tf.ones((1, *operator.image_shape))
        mean = init_mean * (ones - operator.project(ones))
        z = _common.normal(shape, _common.step_seed(seed, 0))
        y0 = mean + operator.adjoint(measurement) + sigma_0 * z
    y, x_hat, result = _coarse_to_fine_loop.run(
        "solve_inverse_problem",
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
    )
    if not final_denoise:
        samples = y
    elif denoise_measured:
        samples = x_hat
    else:
        # (I - M M^T) f(y_T) + M M^T y_T: denoise the unmeasured subspace only.
        measured_shift = operator.forward(y) - operator.forward(x_hat)
        samples = x_hat + operator.adjoint(measured_shift)
    if project:
        samples = operator.enforce(samples, measurement)
    return result._replace(samples=samples)
