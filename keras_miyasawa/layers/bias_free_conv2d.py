"""A 2-D convolution with no additive term."""

import keras
from keras import ops

from keras_miyasawa.layers import _conv_args


@keras.saving.register_keras_serializable(package="keras_miyasawa")
class BiasFreeConv2D(keras.layers.Layer):
    """2-D convolution without a bias: `outputs = conv(inputs, kernel)`.

    A linear map of its input, hence positively homogeneous of degree 1
    (`f(a * y) = a * f(y)`), which is what keeps a denoiser built from it
    bias-free (Mohan et al. 2020). Images are channels-last (NHWC).

    Args:
        filters: int, the number of output channels.
        kernel_size: int or tuple of 2 ints, the height and width of the kernel.
        strides: int or tuple of 2 ints. Defaults to `1`.
        padding: `"same"` or `"valid"`, as in `keras.layers.Conv2D`, or an int
            `p`: zero-pad `p` pixels on every side, then convolve (PyTorch's
            `padding=p`; a stride-2 "same" convolution pads asymmetrically,
            this does not). Defaults to `"same"`.
        dilation_rate: int or tuple of 2 ints. Defaults to `1`.
        kernel_initializer: initializer of the kernel. Defaults to
            `"he_normal"` (ReLU networks).
        kernel_regularizer: optional regularizer of the kernel.
        kernel_constraint: optional constraint on the kernel.
        use_bias: must be `False`; accepted only so that code written for
            `Conv2D` fails loudly instead of silently adding a bias.
        **kwargs: base layer arguments (`name`, `dtype`, `trainable`, ...).

    Raises:
        ValueError: if `use_bias=True` or an argument is out of range.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> layer = km.layers.BiasFreeConv2D(8, 3)
    >>> layer(np.ones((2, 16, 16, 1), "float32")).shape
    TensorShape([2, 16, 16, 8])
    """

    def __init__(
        self,
        filters,
        kernel_size,
        strides=1,
        padding="same",
        dilation_rate=1,
        kernel_initializer="he_normal",
        kernel_regularizer=None,
        kernel_constraint=None,
        use_bias=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        _conv_args.reject_bias(use_bias, type(self).__name__)
        self.filters = _conv_args.positive_int(filters, "filters")
        self.kernel_size = _conv_args.pair(kernel_size, "kernel_size")
        self.strides = _conv_args.pair(strides, "strides")
        self.padding = _conv_args.padding(padding)
        self.dilation_rate = _conv_args.pair(dilation_rate, "dilation_rate")
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.use_bias = False
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        in_channels = _conv_args.known_channels(input_shape, self.name)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, in_channels, self.filters),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: in_channels})

    def call(self, inputs):
        inputs, padding = _conv_args.apply_explicit_padding(inputs, self.padding)
        return ops.conv(
            inputs,
            self.kernel,
            strides=self.strides,
            padding=padding,
            data_format="channels_last",
            dilation_rate=self.dilation_rate,
        )

    def compute_output_shape(self, input_shape):
        return _conv_args.conv_output_shape(
            input_shape,
            self.filters,
            self.kernel_size,
            self.strides,
            self.padding,
            self.dilation_rate,
        )

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "strides": self.strides,
                "padding": self.padding,
                "dilation_rate": self.dilation_rate,
                "kernel_initializer": keras.initializers.serialize(
                    self.kernel_initializer
                ),
                "kernel_regularizer": keras.regularizers.serialize(
                    self.kernel_regularizer
                ),
                "kernel_constraint": keras.constraints.serialize(
                    self.kernel_constraint
                ),
                "use_bias": False,
            }
        )
        return config
