"""Folds inference-mode batch norm into the preceding convolution."""

import keras
from keras import ops

from keras_miyasawa.layers import BiasFreeBatchNorm
from keras_miyasawa.layers import BiasFreeConv2DTranspose
from keras_miyasawa.models.denoiser import Denoiser

_BATCH_NORMS = (BiasFreeBatchNorm, keras.layers.BatchNormalization)
_TRANSPOSED_CONVS = (BiasFreeConv2DTranspose, keras.layers.Conv2DTranspose)


def _producer(layer):
    """The layer whose output `layer` consumes (its single input)."""
    history = getattr(layer.input, "_keras_history", None)
    return None if history is None else history.operation


def _output_axis(conv):
    # Conv2D kernels are (h, w, in, out); Conv2DTranspose kernels (h, w, out, in).
    return 2 if isinstance(conv, _TRANSPOSED_CONVS) else 3


def _scale_and_shift(norm):
    """(s, t) with norm(x) = s * x + t per channel, in inference mode."""
    variance = ops.cast(norm.moving_variance, "float32")
    # BiasFreeBatchNorm: x * gamma / sqrt(var + eps); BatchNormalization also
    # subtracts the moving mean and adds beta.
    scale = ops.rsqrt(variance + norm.epsilon)
    if getattr(norm, "gamma", None) is not None:
        scale = scale * ops.cast(norm.gamma, "float32")
    shift = None
    if isinstance(norm, keras.layers.BatchNormalization):
        shift = -ops.cast(norm.moving_mean, "float32") * scale
        if norm.beta is not None:
            shift = shift + ops.cast(norm.beta, "float32")
    return scale, shift


def _folded_weights(conv, norm):
    """The kernel (and bias) of `conv` with `norm` applied after it."""
    scale, shift = _scale_and_shift(norm)
    axis = _output_axis(conv)
    broadcast = [1, 1, 1, 1]
    broadcast[axis] = -1
    kernel = ops.cast(conv.kernel, "float32") * ops.reshape(scale, broadcast)
    weights = [kernel]
    if getattr(conv, "use_bias", False):
        # norm(W * x + b) = (s W) * x + (s b + t).
        bias = ops.cast(conv.bias, "float32") * scale
        weights.append(bias if shift is None else bias + shift)
    elif shift is not None:
        raise ValueError(
            f"Cannot fold {norm.name!r}: it adds an offset but the convolution "
            f"{conv.name!r} before it has no bias to absorb it."
        )
    return weights


def fold_batch_norm(model):
    """Returns an inference copy of `model` with its batch norms folded away.

    Every batch norm of the model is, in inference mode, a per-channel affine
    map `s * x + t` (`t = 0` for `BiasFreeBatchNorm`), so it folds into the
    convolution before it: the kernel's output channels are scaled by `s`, and
    for a biased network (`BatchNormalization`) the conv bias becomes
    `s * b + t`. The result is a model of the same class and configuration
    with `batch_norm=False`, fewer layers and the same outputs (to float32
    rounding, about 1e-6 relative); a bias-free model stays bias-free. Use it
    for inference only: the folded model cannot be fine-tuned with batch norm.
    The input model is left unchanged.

    Args:
        model: a `keras_miyasawa.models.Denoiser` with a `batch_norm`
            argument (`DnCNN`, `UNet`).

    Returns:
        A new model of the same class, with `batch_norm=False`.

    Raises:
        TypeError: if `model` is not such a `Denoiser`.
        ValueError: if a batch norm does not directly follow a convolution.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> model = km.models.DnCNN(depth=4, filters=8)
    >>> folded = km.models.fold_batch_norm(model)
    >>> folded.batch_norm, len(folded.layers) < len(model.layers)
    (False, True)
    >>> y = np.random.default_rng(0).uniform(size=(1, 16, 16, 1)).astype("float32")
    >>> bool(np.allclose(folded(y), model(y, training=False), atol=1e-5))
    True
    """
    if not isinstance(model, Denoiser) or "batch_norm" not in model.get_config():
        raise TypeError(
            "model must be a keras_miyasawa.models.Denoiser with a batch_norm "
            f"argument (DnCNN, UNet). Received: model of type {type(model).__name__}"
        )
    config = model.get_config()
    config["batch_norm"] = False
    folded = type(model).from_config(config)

    norm_after = {}
    for layer in model.layers:
        if isinstance(layer, _BATCH_NORMS):
            conv = _producer(layer)
            if conv is None or not hasattr(conv, "kernel"):
                raise ValueError(
                    f"Cannot fold {layer.name!r}: it does not follow a "
                    f"convolution. Received: input from "
                    f"{getattr(conv, 'name', None)!r}"
                )
            norm_after[conv.name] = layer

    for layer in folded.layers:
        if not layer.weights:
            continue
        source = model.get_layer(layer.name)
        if layer.name in norm_after:
            weights = _folded_weights(source, norm_after[layer.name])
        else:
            weights = source.get_weights()
        layer.set_weights([ops.convert_to_numpy(w) for w in weights])
    return folded
