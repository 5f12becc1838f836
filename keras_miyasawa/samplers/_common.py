"""Shared machinery of the samplers: compiled-function cache, seeds, checks.

Each sampler compiles one `tf.function` per (denoiser, operator, static
options) and keeps it in a cache keyed weakly by the denoiser and operator, so
repeated calls with new hyperparameter values (passed as tensors) and batches of
the same shape reuse one trace. The compiled functions reach the denoiser and
operator through weak references, so caching does not keep them alive.
"""

import collections
import inspect
import math
import weakref

import keras
import numpy as np
import tensorflow as tf

# `(fn(y, sigma) -> x_hat, conditional)` for a model, a prior or a callable.
from keras_miyasawa._weights import weights_fingerprint
from keras_miyasawa.miyasawa import as_denoise_fn as denoise_fn
from keras_miyasawa.models import Denoiser
from keras_miyasawa.models import fold_batch_norm as fold_batch_norm_copy
from keras_miyasawa.operators import Operator
from keras_miyasawa.samplers.divergence_error import DivergenceError

_CACHE = weakref.WeakKeyDictionary()
# user model -> (its batch-norm-folded copy, the fingerprint of the weights it
# was folded from).
_FOLDED = weakref.WeakKeyDictionary()

# How many times each sampler's compiled loop was traced (Python runs the body
# of a `tf.function` only when it traces). Read by the tests.
TRACE_COUNTS = collections.Counter()


class _Handle:
    """A weak reference to a denoiser or operator, dereferenced at trace time."""

    def __init__(self, obj):
        self._strong = None
        self._ref = None
        if obj is None:
            return
        try:
            if inspect.ismethod(obj):
                self._ref = weakref.WeakMethod(obj)
            else:
                self._ref = weakref.ref(obj)
        except TypeError:  # not weak-referenceable: hold it.
            self._strong = obj

    def __call__(self):
        if self._ref is None:
            return self._strong
        obj = self._ref()
        if obj is None:
            raise RuntimeError("The denoiser or operator of this sampler was deleted.")
        return obj


def _owner(obj):
    """The object a cache entry hangs on (a bound method hangs on its instance)."""
    if inspect.ismethod(obj):
        return obj.__self__, obj.__func__
    return obj, None


def cached_function(name, denoiser, operator, static, build):
    """The compiled function of sampler `name` for this denoiser and operator.

    Args:
        name: str, the sampler.
        denoiser: the user's denoiser object.
        operator: an `Operator` or `None`.
        static: hashable tuple of options that change the graph's structure.
        build: `build(denoiser_handle, operator_handle, *static) -> tf.function`.

    Returns:
        The cached (or newly built) `tf.function`.
    """
    owner, method = _owner(denoiser)
    key = (name, method, static)
    try:
        per_owner = _CACHE.setdefault(owner, {})
        per_operator = per_owner.setdefault(key, weakref.WeakKeyDictionary())
        op_key = operator if operator is not None else _NO_OPERATOR
        fn = per_operator.get(op_key)
    except TypeError:  # unhashable or not weak-referenceable: no caching.
        return build(_Handle(denoiser), _Handle(operator), *static)
    if fn is None:
        fn = build(_Handle(denoiser), _Handle(operator), *static)
        per_operator[op_key] = fn
    return fn


class _NoOperator:
    pass


_NO_OPERATOR = _NoOperator()


def inference_denoiser(denoiser, fold_batch_norm):
    """The denoiser a sampler runs: `denoiser`, or its batch-norm-folded copy.

    With `fold_batch_norm=True`, a `keras_miyasawa.models.Denoiser` built
    with `batch_norm=True` (DnCNN, UNet) is replaced by
    `keras_miyasawa.models.fold_batch_norm(denoiser)`: the same inference
    outputs (to float32 rounding, about 1e-6 relative) with one elementwise
    pass fewer per hidden block. The copy is cached per model, so the compiled
    loop is traced once, and refolded when the model's weights have changed
    since (for example after more training), so it never goes stale.
    """
    if not fold_batch_norm or not isinstance(denoiser, Denoiser):
        return denoiser
    if not denoiser.get_config().get("batch_norm", False):
        return denoiser
    fingerprint = weights_fingerprint(denoiser)
    folded, source = _FOLDED.get(denoiser, (None, None))
    if folded is None:
        folded = fold_batch_norm_copy(denoiser)
    elif source != fingerprint:
        folded.set_weights(fold_batch_norm_copy(denoiser).get_weights())
    else:
        return folded
    _FOLDED[denoiser] = (folded, fingerprint)
    return folded


def require_blind(denoiser, sampler):
    """Raises a `TypeError` for a noise-conditional denoiser."""
    _, conditional = denoise_fn(denoiser)
    if conditional:
        raise TypeError(
            f"{sampler} estimates the noise level from the residual of a blind "
            "denoiser y -> x_hat, so it cannot use a noise-conditional one. "
            f"Received: denoiser of type {type(denoiser).__name__}. For a "
            "keras_miyasawa.priors.Prior, pass prior.blind_denoiser(sigma_range)."
        )


def seed_tensor(seed):
    """A `(2,)` int64 seed for the stateless random ops; `None` draws one."""
    if isinstance(seed, (tf.Tensor, tf.Variable)):
        return tf.cast(tf.reshape(seed, (-1,))[:2], tf.int64)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise TypeError(f"seed must be an int or None. Received: seed={seed!r}")
    state = np.random.SeedSequence(seed).generate_state(2, dtype=np.uint32)
    return tf.constant(state.astype("int64") & 0x7FFFFFFF, dtype=tf.int64)


def step_seed(seed, step):
    """The seed of step `step`: independent streams from one seed."""
    return tf.random.experimental.stateless_fold_in(
        seed, tf.cast(step, tf.int64), alg="philox"
    )


def normal(shape, seed, dtype=tf.float32):
    """Standard normal noise; Philox explicitly, so XLA draws the same numbers."""
    return tf.random.stateless_normal(shape, seed=seed, dtype=dtype, alg="philox")


def float_arg(value, name, low=None, high=None, low_open=True, high_open=False):
    """A Python float in a range, or a clear `ValueError` naming the argument."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a number. Received: {name}={value!r}")
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise TypeError(
            f"{name} must be a number. Received: {name}={value!r}"
        ) from None
    ok = math.isfinite(number)
    if ok and low is not None:
        ok = number > low if low_open else number >= low
    if ok and high is not None:
        ok = number < high if high_open else number <= high
    if not ok:
        interval = (
            f"{'(' if low_open else '['}{'-inf' if low is None else low}, "
            f"{'inf' if high is None else high}{')' if high_open else ']'}"
        )
        raise ValueError(f"{name} must be in {interval}. Received: {name}={value!r}")
    return number


def int_arg(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an int. Received: {name}={value!r}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}. Received: {name}={value!r}")
    return int(value)


def sample_shape_arg(sample_shape):
    try:
        shape = tuple(int(d) for d in sample_shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) < 2 or min(shape) < 1:
        raise ValueError(
            "sample_shape must be (num_chains, *event_shape), positive ints, e.g. "
            f"(16, 40, 40, 1). Received: sample_shape={sample_shape!r}"
        )
    return shape


def tensor_arg(value, name, dtype="float32"):
    """A float tensor with a batch axis, checked finite."""
    array = np.asarray(keras.ops.convert_to_numpy(value))
    if not np.issubdtype(array.dtype, np.floating):
        raise TypeError(
            f"{name} must be a floating-point array. Received: {name} with dtype "
            f"{array.dtype}"
        )
    if array.ndim < 2:
        raise ValueError(
            f"{name} must have a batch axis first, rank >= 2. Received: {name} with "
            f"shape {array.shape}"
        )
    if not np.all(np.isfinite(array)):
        raise ValueError(f"{name} must be finite. Received: {name} with NaN or inf.")
    return tf.constant(array, dtype=dtype)


def per_chain_finite(*tensors):
    """`(batch,)` bool: every value of each chain is finite in all tensors."""
    finite = None
    for t in tensors:
        axes = list(range(1, t.shape.rank))
        ok = tf.math.is_finite(t)
        ok = tf.reduce_all(ok, axis=axes) if axes else ok
        finite = ok if finite is None else finite & ok
    return finite


def raise_if_diverged(sampler, diverged_step, bad_chains, hint):
    """Turns the in-graph divergence report into a `DivergenceError`."""
    step = int(diverged_step)
    if step < 0:
        return
    chains = np.flatnonzero(np.asarray(bad_chains)).tolist()
    shown = chains[:10] + (["..."] if len(chains) > 10 else [])
    raise DivergenceError(
        f"{sampler} diverged: chain(s) {shown} reached NaN or inf at step {step}. "
        f"{hint}",
        step=step,
        chains=chains,
    )


def new_trajectory():
    return tf.TensorArray(tf.float32, size=0, dynamic_size=True, clear_after_read=False)


def stack_trajectory(trajectory, record):
    return trajectory.stack() if record else tf.zeros((0,), tf.float32)


def maybe_record(trajectory, record, step, every, value):
    """Writes `value` at slot `step // every` when `step % every == 0`."""
    if not record:
        return trajectory
    return tf.cond(
        tf.equal(step % every, 0),
        lambda: trajectory.write(step // every, value),
        lambda: trajectory,
    )


def broadcast_per_chain(values, like):
    """`(batch,)` values reshaped to broadcast against `like`."""
    return tf.reshape(values, [-1] + [1] * (like.shape.rank - 1))


def check_operator(operator, measurement):
    """Validates the operator and measurement; returns the measurement tensor."""
    if not isinstance(operator, Operator):
        raise TypeError(
            "operator must be a keras_miyasawa.operators.Operator. Received: "
            f"operator of type {type(operator).__name__}"
        )
    if not operator.built:
        raise ValueError(
            f"{operator!r} is not built: pass image_shape=(height, width, channels) "
            "to its constructor (or call forward on an image first)."
        )
    measurement = tensor_arg(measurement, "measurement")
    if tuple(measurement.shape[1:]) != operator.measurement_shape:
        raise ValueError(
            f"measurement must have shape (batch, *{operator.measurement_shape}) for "
            f"{operator!r}. Received: measurement with shape "
            f"{tuple(measurement.shape)}"
        )
    return measurement
