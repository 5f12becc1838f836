"""Layer factories shared by DnCNN and UNet: one switch for bias / bias-free."""

import keras

from keras_miyasawa.layers import BiasFreeBatchNorm
from keras_miyasawa.layers import BiasFreeConv2D
from keras_miyasawa.layers import BiasFreeConv2DTranspose

# PyTorch's BatchNorm2d conventions (momentum 0.1 there is 0.9 here), which the
# reference networks were trained with.
BN_MOMENTUM = 0.9
BN_EPSILON = 1e-5


def apply_conv(
    x,
    filters,
    kernel_size,
    bias_free,
    name,
    strides=1,
    padding="same",
    dilation_rate=1,
    kernel_initializer="he_normal",
    dtype=None,
):
    """A convolution, bias-free or with a bias; an int `padding` pads symmetrically."""
    if bias_free:
        return BiasFreeConv2D(
            filters,
            kernel_size,
            strides=strides,
            padding=padding,
            dilation_rate=dilation_rate,
            kernel_initializer=kernel_initializer,
            dtype=dtype,
            name=name,
        )(x)
    if not isinstance(padding, str):
        x = keras.layers.ZeroPadding2D(padding, dtype=dtype, name=f"{name}_pad")(x)
        padding = "valid"
    return keras.layers.Conv2D(
        filters,
        kernel_size,
        strides=strides,
        padding=padding,
        dilation_rate=dilation_rate,
        kernel_initializer=kernel_initializer,
        dtype=dtype,
        name=name,
    )(x)


def apply_conv_transpose(x, filters, kernel_size, strides, bias_free, name, dtype=None):
    layer = BiasFreeConv2DTranspose if bias_free else keras.layers.Conv2DTranspose
    return layer(
        filters, kernel_size, strides=strides, padding="same", dtype=dtype, name=name
    )(x)


def apply_batch_norm(x, bias_free, name, dtype=None):
    layer = BiasFreeBatchNorm if bias_free else keras.layers.BatchNormalization
    return layer(momentum=BN_MOMENTUM, epsilon=BN_EPSILON, dtype=dtype, name=name)(x)


def apply_relu(x, name, dtype=None):
    return keras.layers.ReLU(dtype=dtype, name=name)(x)
