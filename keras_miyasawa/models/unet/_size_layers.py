"""Pad an image batch to a multiple of a size, and crop it back."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_miyasawa")
class PadToMultiple(keras.layers.Layer):
    """Zero-pads height and width at the bottom/right up to a multiple of `multiple`.

    Zero padding is linear, so it keeps a bias-free network homogeneous.
    """

    def __init__(self, multiple, **kwargs):
        super().__init__(**kwargs)
        self.multiple = multiple

    def call(self, inputs):
        shape = ops.shape(inputs)
        pad_h = (-shape[1]) % self.multiple
        pad_w = (-shape[2]) % self.multiple
        return ops.pad(inputs, [[0, 0], [0, pad_h], [0, pad_w], [0, 0]])

    def compute_output_shape(self, input_shape):
        def padded(n):
            return None if n is None else n + (-n) % self.multiple

        return (
            input_shape[0],
            padded(input_shape[1]),
            padded(input_shape[2]),
            input_shape[3],
        )

    def get_config(self):
        config = super().get_config()
        config["multiple"] = self.multiple
        return config


@keras.saving.register_keras_serializable(package="keras_miyasawa")
class CropLike(keras.layers.Layer):
    """Crops `inputs[0]` to the height and width of `inputs[1]` (top-left anchored)."""

    def call(self, inputs):
        x, reference = inputs
        shape = ops.shape(reference)
        return x[:, : shape[1], : shape[2], :]

    def compute_output_shape(self, input_shape):
        x_shape, ref_shape = input_shape
        return (x_shape[0], ref_shape[1], ref_shape[2], x_shape[3])
