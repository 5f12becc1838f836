"""Argument checks and shape arithmetic shared by the bias-free convolutions."""

from keras import ops


def reject_bias(use_bias, layer_name):
    if use_bias:
        raise ValueError(
            f"{layer_name} has no bias by construction; a bias would break the "
            "positive homogeneity f(a*y) = a*f(y) of a bias-free denoiser. "
            f"Received: use_bias={use_bias!r}. Use keras.layers.Conv2D for a "
            "biased convolution."
        )


def positive_int(value, name):
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ValueError(f"{name} must be a positive int. Received: {name}={value!r}")
    return value


def pair(value, name):
    if isinstance(value, int) and not isinstance(value, bool):
        value = (value, value)
    value = tuple(value)
    if len(value) != 2:
        raise ValueError(
            f"{name} must be an int or a tuple of 2 ints. Received: {name}={value!r}"
        )
    for v in value:
        positive_int(v, name)
    return value


def padding(value):
    if isinstance(value, str) and value.lower() in ("same", "valid"):
        return value.lower()
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        return value
    raise ValueError(
        "padding must be 'same', 'valid' or a non-negative int. "
        f"Received: padding={value!r}"
    )


def known_channels(input_shape, layer_name):
    if len(input_shape) != 4 or input_shape[-1] is None:
        raise ValueError(
            f"{layer_name} expects NHWC inputs with a known channel count. "
            f"Received: input_shape={tuple(input_shape)}"
        )
    return int(input_shape[-1])


def apply_explicit_padding(inputs, padding):
    """Zero-pads `padding` pixels per side when it is an int; returns ops padding."""
    if isinstance(padding, str):
        return inputs, padding
    if padding:
        inputs = ops.pad(
            inputs, [[0, 0], [padding, padding], [padding, padding], [0, 0]]
        )
    return inputs, "valid"


def _conv_length(n, k, s, padding, d):
    if n is None:
        return None
    if padding == "same":
        return -(-n // s)
    pad = 0 if padding == "valid" else 2 * padding
    return (n + pad - d * (k - 1) - 1) // s + 1


def _transpose_length(n, k, s, padding, d):
    if n is None:
        return None
    if padding == "same":
        return n * s
    crop = 0 if padding == "valid" else 2 * padding
    return (n - 1) * s + d * (k - 1) + 1 - crop


def conv_output_shape(input_shape, filters, kernel_size, strides, padding, dilation):
    h, w = (
        _conv_length(n, k, s, padding, d)
        for n, k, s, d in zip(input_shape[1:3], kernel_size, strides, dilation)
    )
    return (input_shape[0], h, w, filters)


def transpose_output_shape(
    input_shape, filters, kernel_size, strides, padding, dilation
):
    h, w = (
        _transpose_length(n, k, s, padding, d)
        for n, k, s, d in zip(input_shape[1:3], kernel_size, strides, dilation)
    )
    return (input_shape[0], h, w, filters)
