"""The prepared (folded, optionally compiled and bfloat16) model behind `denoise_*`.

Shared by `denoise_images` and `denoise_folder`: both build it once per model,
options and strategy, and reuse it (no refolding, no retracing) on later calls
while the model's weights are unchanged.
"""

import weakref

import keras
import numpy as np
import tensorflow as tf

from keras_miyasawa._weights import weights_fingerprint
from keras_miyasawa.models.denoiser import Denoiser
from keras_miyasawa.models.fold_batch_norm import fold_batch_norm

PRECISIONS = ("float32", "mixed_bfloat16")

# denoiser -> {(fold, jit_compile, precision, strategy id): (fingerprint, model)}
_CACHE = weakref.WeakKeyDictionary()
# A MirroredStrategy per device list, so repeated calls share one.
_STRATEGIES = {}


def check_options(denoiser, batch_size, precision):
    if not isinstance(denoiser, keras.Model):
        raise TypeError(
            "denoiser must be a blind Keras model (y -> x_hat). Received: "
            f"denoiser of type {type(denoiser).__name__}"
        )
    if isinstance(batch_size, bool) or not isinstance(batch_size, (int, np.integer)):
        raise TypeError(f"batch_size must be an int. Received: {batch_size!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1. Received: batch_size={batch_size}")
    precision = "float32" if precision is None else precision
    if precision not in PRECISIONS:
        raise ValueError(
            f"precision must be one of {PRECISIONS} or None. "
            f"Received: precision={precision!r}"
        )
    if precision != "float32" and not _is_zoo_model(denoiser):
        raise ValueError(
            "precision='mixed_bfloat16' needs a keras_miyasawa.models.Denoiser "
            f"(DnCNN, UNet). Received: denoiser of type {type(denoiser).__name__}"
        )
    return precision


def _is_zoo_model(model):
    return isinstance(model, Denoiser) and "batch_norm" in model.get_config()


def default_strategy():
    """The current strategy, or a MirroredStrategy over several local devices.

    Inside `strategy.scope()` that strategy is used. Otherwise, with more than
    one GPU (or, without a GPU, more than one logical CPU) the images are split
    over a `tf.distribute.MirroredStrategy` of those devices; with one device,
    the default (no-op) strategy.
    """
    if tf.distribute.has_strategy():
        return tf.distribute.get_strategy()
    devices = tf.config.list_logical_devices("GPU") or tf.config.list_logical_devices(
        "CPU"
    )
    if len(devices) < 2:
        return tf.distribute.get_strategy()
    names = tuple(device.name for device in devices)
    if names not in _STRATEGIES:
        _STRATEGIES[names] = tf.distribute.MirroredStrategy(list(names))
    return _STRATEGIES[names]


def _build(denoiser, fold, precision):
    """The inference copy: batch norm folded, under the requested dtype policy."""
    if not _is_zoo_model(denoiser):
        return denoiser
    model = fold_batch_norm(denoiser) if fold else denoiser
    if precision == "float32" and model.dtype_policy.name == "float32":
        return model
    return model.with_dtype(precision)


class InferenceModel:
    """A denoiser prepared for inference: `run(dataset)` adds float32 outputs."""

    def __init__(self, denoiser, fold, jit_compile, precision, strategy):
        self.strategy = strategy
        self.replicas = strategy.num_replicas_in_sync
        with strategy.scope():
            self.model = _build(denoiser, fold, precision)
        self.channels = getattr(denoiser, "channels", None)
        self.traces = 0
        model = self.model

        def forward(y):
            self.traces += 1
            return tf.cast(model(y, training=False), tf.float32)

        spec = tf.TensorSpec([None, None, None, self.channels], tf.float32)
        self.step = tf.function(
            forward, input_signature=[spec], jit_compile=bool(jit_compile)
        )
        if self.replicas > 1:

            def replica_forward(y):
                return tf.cast(model(y, training=False), tf.float32)

            if jit_compile:
                replica_forward = tf.function(replica_forward, jit_compile=True)

            @tf.function(reduce_retracing=True)
            def distributed(element):
                self.traces += 1
                outputs = strategy.run(replica_forward, args=(element[1],))
                gathered = [strategy.gather(value, axis=0) for value in element]
                return (*gathered[:2], strategy.gather(outputs, axis=0), *gathered[2:])

            self.distributed = distributed

    def run(self, dataset):
        """Runs the model on a dataset of `(index, y, *extras)` batches.

        Yields:
            NumPy tuples `(index, y, x_hat, *extras)`, one per batch.
        """
        if self.replicas == 1:
            for element in dataset:
                outputs = self.step(element[1])
                values = (*element[:2], outputs, *element[2:])
                yield tuple(value.numpy() for value in values)
            return
        replicas = self.replicas

        def pad(*element):
            # A replica given an empty batch fails in the convolutions: pad
            # the batch to a multiple of the replicas with copies of its last
            # image, marked by index -1 and dropped after the gather.
            index = element[0]
            extra = (-tf.shape(index)[0]) % replicas
            padded = [tf.concat([index, -tf.ones([extra], index.dtype)], 0)]
            for value in element[1:]:
                padded.append(tf.concat([value, tf.repeat(value[-1:], extra, 0)], 0))
            return tuple(padded)

        dataset = dataset.map(pad)
        for element in self.strategy.experimental_distribute_dataset(dataset):
            values = [value.numpy() for value in self.distributed(tuple(element))]
            keep = values[0] >= 0
            yield tuple(value[keep] for value in values)


def inference_model(denoiser, fold, jit_compile, precision, strategy):
    """The cached `InferenceModel` of `denoiser` for these options."""
    key = (bool(fold), bool(jit_compile), precision, id(strategy))
    fingerprint = weights_fingerprint(denoiser)
    entries = _CACHE.setdefault(denoiser, {})
    cached = entries.get(key)
    if cached is None or cached[0] != fingerprint or cached[1].strategy is not strategy:
        cached = (fingerprint, InferenceModel(denoiser, *key[:3], strategy))
        entries[key] = cached
    return cached[1]
