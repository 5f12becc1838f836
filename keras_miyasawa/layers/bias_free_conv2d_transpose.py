"""A transposed 2-D convolution with no additive term."""

import keras
from keras import ops

from keras_miyasawa.layers import _conv_args


@keras.saving.register_keras_serializable(package="keras_miyasawa")
class BiasFreeConv2DTranspose(keras.layers.Layer):
    """Transposed 2-D convolution (learned upsampling) without a bias.

    The kernel has shape `(kh, kw, filters, in_channels)` as in
    `keras.layers.Conv2DTranspose`. Linear, hence positively homogeneous.

    Args:
        filters: int, the number of output channels.
        kernel_size: int or tuple of 2 ints.
        strides: int or tuple of 2 ints, the upsampling factor. Defaults to `1`.
        padding: `"same"` (output size `input * strides`), `"valid"`, or an int
            `p`: the full transposed convolution cropped by `p` pixels on every
            side (PyTorch's `ConvTranspose2d(padding=p)`). Defaults to `"same"`.
        dilation_rate: int or tuple of 2 ints. Defaults to `1`.
        kernel_initializer: initializer of the kernel. Defaults to `"he_normal"`.
        kernel_regularizer: optional regularizer of the kernel.
        kernel_constraint: optional constraint on the kernel.
        use_bias: must be `False` (see `BiasFreeConv2D`).
        **kwargs: base layer arguments.

    Raises:
        ValueError: if `use_bias=True` or an argument is out of range.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> layer = km.layers.BiasFreeConv2DTranspose(4, 4, strides=2)
    >>> layer(np.ones((1, 8, 8, 2), "float32")).shape
    TensorShape([1, 16, 16, 4])
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
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError(
                "strides > 1 and dilation_rate > 1 cannot be combined. Received: "
                f"strides={self.strides}, dilation_rate={self.dilation_rate}"
            )
        self.kernel_initializer = keras.initializers.get(kernel_initializer)
        self.kernel_regularizer = keras.regularizers.get(kernel_regularizer)
        self.kernel_constraint = keras.constraints.get(kernel_constraint)
        self.use_bias = False
        self.input_spec = keras.layers.InputSpec(ndim=4)

    def build(self, input_shape):
        in_channels = _conv_args.known_channels(input_shape, self.name)
        self.kernel = self.add_weight(
            name="kernel",
            shape=(*self.kernel_size, self.filters, in_channels),
            initializer=self.kernel_initializer,
            regularizer=self.kernel_regularizer,
            constraint=self.kernel_constraint,
        )
        self.input_spec = keras.layers.InputSpec(ndim=4, axes={-1: in_channels})

    def call(self, inputs):
        padding = self.padding if isinstance(self.padding, str) else "valid"
        outputs = ops.conv_transpose(
            inputs,
            self.kernel,
            strides=self.strides,
            padding=padding,
            data_format="channels_last",
            dilation_rate=self.dilation_rate,
        )
        if isinstance(self.padding, int) and self.padding:
            p = self.padding
            outputs = outputs[:, p:-p, p:-p, :]
        return outputs

    def compute_output_shape(self, input_shape):
        return _conv_args.transpose_output_shape(
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
