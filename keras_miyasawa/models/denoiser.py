"""The base class of the networks in the zoo: blind denoisers y -> x_hat."""

import keras

from keras_miyasawa import _validation


class Denoiser(keras.Model):
    """A functional Keras model mapping noisy images `y` to clean estimates.

    Subclasses build their graph in `__init__` (KerasHub backbones' pattern)
    and store every constructor argument as an attribute of the same name.
    Inputs are float NHWC images in [0, 1] with `channels` channels; the output
    is `x_hat`, never the noise. Calling the model checks its input first, so a
    `uint8` image, a wrong rank or a wrong channel count is a clear error.
    """

    def __init__(self, inputs, outputs, dtype=None, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        if dtype is not None:
            # Functional models ignore `dtype`; keep the policy given to the layers.
            self.dtype_policy = keras.dtype_policies.get(dtype)

    def __call__(self, *args, **kwargs):
        if args:
            _validation.check_images(args[0], "inputs", channels=self.channels)
        return super().__call__(*args, **kwargs)

    @property
    def is_bias_free(self):
        """Whether the network has no additive term (homogeneous of degree 1)."""
        return self.bias_free

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)
