"""Jacobian-vector products of denoisers, and what Stein and Miyasawa make of them.

For an MMSE denoiser f(y) = y + sigma^2 grad log p(y), the Jacobian
J = I + sigma^2 H(log p) is symmetric (a Hessian), its trace tr(J) is the
effective dimension of the local linear map, and Stein's lemma turns it into
an unbiased estimate of the MSE without the clean image (SURE). These
functions compute them matrix-free with forward-mode (JVP) and reverse-mode
(VJP) products against random probes, in TensorFlow (`tf.autodiff`), one
example per leading-axis entry; `jacobian_matrix` builds the whole matrix for
small images (`tf.GradientTape.batch_jacobian`). TensorFlow is used directly
here, unlike in `models/`, because Keras 3 has no backend-neutral autodiff.

Every function takes a blind denoiser `y -> x_hat` (a Keras model, called with
`training=False`, or a one-argument callable) or a noise-conditional one
`(y, sigma) -> x_hat` (a `keras_miyasawa.priors.Prior`, a two-argument
callable), which then needs `sigma`. Cost, per call: `jvp` about 3 forward
passes, `vjp` about 3, `jacobian_matrix` one VJP per value of an example,
`jacobian_asymmetry` `num_probes` x (JVP + VJP), `hutchinson_divergence` and
`sure_mse` `num_probes` JVPs.
"""

import numpy as np
import tensorflow as tf

from keras_miyasawa import _validation
from keras_miyasawa.miyasawa import as_denoise_fn


def _denoise_fn(denoiser, sigma):
    fn, conditional = as_denoise_fn(denoiser)
    if conditional and sigma is None:
        raise ValueError(
            "sigma is required with a noise-conditional denoiser. Received: sigma=None"
        )
    return lambda y: fn(y, sigma)


def _per_example_sum(x):
    return tf.reduce_sum(tf.reshape(x, (tf.shape(x)[0], -1)), axis=-1)


def _per_example_norm(x):
    return tf.sqrt(_per_example_sum(tf.square(x)))


def _num_values(y):
    return tf.cast(tf.reduce_prod(tf.shape(y)[1:]), y.dtype)


def jvp(denoiser, y, v, sigma=None):
    """Forward-mode product J v of the denoiser's Jacobian at `y`.

    Args:
        denoiser: a blind or noise-conditional denoiser (see module docstring).
        y: float batch, shape `(batch, ...)`.
        v: the tangent, shaped like `y`.
        sigma: the noise level, for a noise-conditional denoiser.

    Returns:
        `(x_hat, jv)`: the denoised batch and J v, both shaped like `y`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), np.diag([4.0, 1.0]))
    >>> _, jv = km.analysis.jvp(prior, np.ones((1, 2)), np.ones((1, 2)), sigma=1.0)
    >>> np.asarray(jv)  # J = diag(4/5, 1/2)
    array([[0.8, 0.5]])
    """
    f = _denoise_fn(denoiser, sigma)
    y = tf.convert_to_tensor(y)
    v = tf.cast(v, y.dtype)
    with tf.autodiff.ForwardAccumulator(y, v) as accumulator:
        x_hat = tf.convert_to_tensor(f(y))
    jv = accumulator.jvp(x_hat, unconnected_gradients=tf.UnconnectedGradients.ZERO)
    return x_hat, jv


def vjp(denoiser, y, v, sigma=None):
    """Reverse-mode product J^T v of the denoiser's Jacobian at `y`.

    Args:
        denoiser: a blind or noise-conditional denoiser.
        y: float batch, shape `(batch, ...)`.
        v: the cotangent, shaped like `y`.
        sigma: the noise level, for a noise-conditional denoiser.

    Returns:
        `(x_hat, jtv)`: the denoised batch and J^T v, both shaped like `y`.
    """
    f = _denoise_fn(denoiser, sigma)
    y = tf.convert_to_tensor(y)
    v = tf.cast(v, y.dtype)
    with tf.GradientTape() as tape:
        tape.watch(y)
        x_hat = tf.convert_to_tensor(f(y))
    jtv = tape.gradient(
        x_hat, y, output_gradients=v, unconnected_gradients=tf.UnconnectedGradients.ZERO
    )
    return x_hat, jtv


def jacobian_matrix(denoiser, y, sigma=None, max_values=4096, parallel_iterations=None):
    """The exact Jacobian J[b, i, j] = d x_hat[b, i] / d y[b, j] of each example.

    Values are indexed in row-major order of one example (`(h, w, c)` of an
    image flattened), so row `i` reshaped to `y.shape[1:]` is the "adaptive
    filter" that computes output value `i` (Mohan et al. 2020, sec. 6).
    Examples are assumed independent (true of convolutional denoisers in
    inference mode and of the priors). Cost: one VJP per value of an example,
    vectorized (`tf.GradientTape.batch_jacobian`), and memory for
    `parallel_iterations` backward passes at once; a 24x24 crop through a
    20-layer DnCNN takes seconds on a CPU. For larger images use `jvp`, `vjp`
    and `hutchinson_divergence`, which never form J.

    Args:
        denoiser: a blind or noise-conditional denoiser (see module docstring).
        y: float batch, shape `(batch, ...)`.
        sigma: the noise level, for a noise-conditional denoiser.
        max_values: int, the largest number of values per example accepted
            (J has `max_values**2` entries per example). Defaults to `4096`.
        parallel_iterations: optional int, how many rows are computed at once
            (lower it to save memory). Defaults to all of them.

    Returns:
        A `(batch, n, n)` tensor, with `n` the number of values per example.

    Raises:
        ValueError: if an example has more than `max_values` values.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), np.diag([4.0, 1.0]))
    >>> km.analysis.jacobian_matrix(prior, np.ones((1, 2)), sigma=1.0).numpy()
    array([[[0.8, 0. ],
            [0. , 0.5]]])
    """
    _validation.check_positive_int(max_values, "max_values")
    f = _denoise_fn(denoiser, sigma)
    y = tf.convert_to_tensor(y)
    n = int(np.prod(y.shape[1:]))
    if n > max_values:
        raise ValueError(
            f"y has {n} values per example, more than max_values={max_values} "
            f"(the Jacobian would have {n}**2 entries per example). Received: y "
            f"with shape {tuple(y.shape)}. Crop it, raise max_values, or use the "
            "matrix-free jvp / vjp / hutchinson_divergence."
        )
    with tf.GradientTape(persistent=parallel_iterations is not None) as tape:
        tape.watch(y)
        x_hat = tf.convert_to_tensor(f(y))
    jacobian = tape.batch_jacobian(
        x_hat,
        y,
        unconnected_gradients=tf.UnconnectedGradients.ZERO,
        parallel_iterations=parallel_iterations,
    )
    return tf.reshape(jacobian, (-1, n, n))


def rademacher_probes(shape, seed, num_probes=1, dtype="float32"):
    """`num_probes` stateless Rademacher (+-1) tensors of `shape`, from `seed`.

    Args:
        shape: the shape of one probe.
        seed: int, or a `(2,)` int tensor.
        num_probes: int. Defaults to `1`.
        dtype: the probes' dtype. Defaults to `"float32"`.

    Returns:
        A list of `num_probes` tensors.
    """
    _validation.check_positive_int(num_probes, "num_probes")
    seed = tf.cast(seed, tf.int64)
    if seed.shape.rank == 0:
        seed = tf.stack([seed, tf.constant(0x4A4143, tf.int64)])  # "JAC"
    probes = []
    for k in range(num_probes):
        bits = tf.random.stateless_uniform(
            shape,
            tf.random.experimental.stateless_fold_in(seed, k),
            minval=0,
            maxval=2,
            dtype=tf.int32,
        )
        probes.append(tf.cast(2 * bits - 1, dtype))
    return probes


def jacobian_probe_statistics(denoiser, y, sigma=None, num_probes=1, seed=0):
    """x_hat, the Jacobian asymmetry and the Hutchinson divergence in one pass.

    Shares the probes and the JVPs between the two estimates (the cost of
    `jacobian_asymmetry` alone); `MiyasawaMonitor` uses it.

    Args:
        denoiser: a blind or noise-conditional denoiser.
        y: float batch, shape `(batch, ...)`.
        sigma: the noise level, for a noise-conditional denoiser.
        num_probes: int, random probes per example. Defaults to `1`.
        seed: int or `(2,)` tensor, the seed of the probes. Defaults to `0`.

    Returns:
        A dict of `(batch,)` tensors `asymmetry` and `divergence`, and
        `x_hat`, shaped like `y`.
    """
    y = tf.convert_to_tensor(y)
    asymmetry, divergence, x_hat = 0.0, 0.0, None
    for v in rademacher_probes(tf.shape(y), seed, num_probes, y.dtype):
        x_hat, jv = jvp(denoiser, y, v, sigma)
        _, jtv = vjp(denoiser, y, v, sigma)
        asymmetry += _per_example_norm(jv - jtv) / _per_example_norm(jv)
        # Hutchinson: tr(J) = E[v^T J v] for E[v v^T] = I.
        divergence += _per_example_sum(v * jv)
    return {
        "x_hat": x_hat,
        "asymmetry": asymmetry / num_probes,
        "divergence": divergence / num_probes,
    }


def jacobian_asymmetry(denoiser, y, sigma=None, num_probes=1, seed=0):
    """||J v - J^T v|| / ||J v|| per example, averaged over Rademacher probes v.

    Zero for a denoiser whose Jacobian is symmetric, as an MMSE denoiser's is
    (J = I + sigma^2 Hessian of log p). Cost: `num_probes` x (one JVP + one VJP).

    Args:
        denoiser: a blind or noise-conditional denoiser.
        y: float batch, shape `(batch, ...)`.
        sigma: the noise level, for a noise-conditional denoiser.
        num_probes: int. Defaults to `1`.
        seed: int or `(2,)` tensor. Defaults to `0`.

    Returns:
        A `(batch,)` tensor.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), [[2.0, 1.0], [1.0, 2.0]])
    >>> asym = km.analysis.jacobian_asymmetry(prior, np.ones((3, 2)), sigma=0.5)
    >>> bool(np.max(asym) < 1e-12)
    True
    """
    stats = jacobian_probe_statistics(denoiser, y, sigma, num_probes, seed)
    return stats["asymmetry"]


def hutchinson_divergence(denoiser, y, sigma=None, num_probes=1, seed=0):
    """Hutchinson's estimate of the divergence tr(J) per example.

    tr(J) = E[v^T J v] over Rademacher probes v; tr(J) is the effective
    dimension of the denoiser at `y` (the number of directions it keeps).
    Unbiased; exact for a diagonal Jacobian. Cost: `num_probes` JVPs.

    Args:
        denoiser: a blind or noise-conditional denoiser.
        y: float batch, shape `(batch, ...)`.
        sigma: the noise level, for a noise-conditional denoiser.
        num_probes: int. Defaults to `1`.
        seed: int or `(2,)` tensor. Defaults to `0`.

    Returns:
        A `(batch,)` tensor.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), np.diag([4.0, 1.0]))
    >>> div = km.analysis.hutchinson_divergence(prior, np.ones((1, 2)), sigma=1.0)
    >>> np.round(np.asarray(div), 6)  # 4/5 + 1/2
    array([1.3])
    """
    y = tf.convert_to_tensor(y)
    divergence = 0.0
    for v in rademacher_probes(tf.shape(y), seed, num_probes, y.dtype):
        _, jv = jvp(denoiser, y, v, sigma)
        divergence += _per_example_sum(v * jv)
    return divergence / num_probes


def sure_mse(denoiser, y, sigma, num_probes=1, seed=0, divergence=None):
    """Stein's unbiased risk estimate of the per-value MSE, without clean images.

    SURE = ||f(y) - y||^2 / N - sigma^2 + 2 sigma^2 tr(J) / N (Stein 1981), an
    unbiased estimate of ||f(y) - x||^2 / N for y = x + N(0, sigma^2 I), with
    N the number of values per example and tr(J) from `hutchinson_divergence`.
    Cost: one forward pass and `num_probes` JVPs (none if `divergence` given).

    Args:
        denoiser: a blind or noise-conditional denoiser.
        y: float batch, shape `(batch, ...)`.
        sigma: float > 0 or `(batch,)`, the true noise level of `y`.
        num_probes: int, Hutchinson probes. Defaults to `1`.
        seed: int or `(2,)` tensor. Defaults to `0`.
        divergence: optional precomputed `(batch,)` tr(J).

    Returns:
        A `(batch,)` tensor.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(1), 1.0)
    >>> sure = km.analysis.sure_mse(prior, np.array([[0.0]]), sigma=1.0)
    >>> np.asarray(sure)  # 0 - 1 + 2 * 1 * (1/2)
    array([0.])
    """
    _validation.check_sigma(sigma)
    y = tf.convert_to_tensor(y)
    f = _denoise_fn(denoiser, sigma)
    sigma = tf.cast(sigma, y.dtype)
    if divergence is None:
        divergence = hutchinson_divergence(denoiser, y, sigma, num_probes, seed)
    residual = tf.convert_to_tensor(f(y)) - y
    n = _num_values(y)
    # Stein: E||f(y) - x||^2 = E||f(y) - y||^2 - N sigma^2 + 2 sigma^2 E[div f(y)].
    return (
        _per_example_sum(tf.square(residual)) / n
        - tf.square(sigma)
        + 2.0 * tf.square(sigma) * tf.cast(divergence, y.dtype) / n
    )
