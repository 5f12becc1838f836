"""Batch normalization without mean subtraction or offset."""

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="keras_miyasawa")
class BiasFreeBatchNorm(keras.layers.Layer):
    """Scale-only batch normalization: `outputs = gamma * inputs / std`.

    In training, `std = sqrt(var_batch + epsilon)` where `var_batch` is the
    per-channel variance of the batch, and the moving variance is updated as in
    `keras.layers.BatchNormalization`:
    `moving_variance = momentum * moving_variance + (1 - momentum) * var_batch`.
    In inference, `std = sqrt(moving_variance + epsilon)`, a constant, so the
    layer is linear and positively homogeneous. Unlike `BatchNormalization` it
    never subtracts a mean and never adds an offset (Mohan et al. 2020, sec. 4).

    Args:
        axis: int, the channel axis. Defaults to `-1` (channels last).
        momentum: float in [0, 1), the moving-variance momentum. Defaults to
            `0.99`.
        epsilon: float > 0, added to the variance. Defaults to `1e-3`.
        scale: bool, whether to learn the per-channel scale `gamma`.
            Defaults to `True`.
        gamma_initializer: initializer of `gamma`. Defaults to `"ones"`.
        moving_variance_initializer: initializer of the moving variance.
            Defaults to `"ones"`.
        gamma_regularizer: optional regularizer of `gamma`.
        gamma_constraint: optional constraint on `gamma`.
        center: must be `False`: an offset `beta` would make the layer affine.
        **kwargs: base layer arguments.

    Raises:
        ValueError: if `center=True` or an argument is out of range.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> bn = km.layers.BiasFreeBatchNorm()
    >>> y = np.random.default_rng(0).normal(size=(4, 8, 8, 3)).astype("float32")
    >>> bn(y, training=True).shape
    TensorShape([4, 8, 8, 3])

    Reference:
        Mohan, Kadkhodaie, Simoncelli, Fernandez-Granda. "Robust and
        interpretable blind image denoising via bias-free convolutional
        neural networks." ICLR 2020.
    """

    def __init__(
        self,
        axis=-1,
        momentum=0.99,
        epsilon=1e-3,
        scale=True,
        gamma_initializer="ones",
        moving_variance_initializer="ones",
        gamma_regularizer=None,
        gamma_constraint=None,
        center=False,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if center:
            raise ValueError(
                "BiasFreeBatchNorm has no offset: center=True would add a learned "
                "constant and break the homogeneity f(a*y) = a*f(y). "
                f"Received: center={center!r}. Use keras.layers.BatchNormalization "
                "for a biased network."
            )
        if isinstance(axis, bool) or not isinstance(axis, int):
            raise ValueError(f"axis must be an int. Received: axis={axis!r}")
        if not 0.0 <= momentum < 1.0:
            raise ValueError(
                f"momentum must be in [0, 1). Received: momentum={momentum!r}"
            )
        if not epsilon > 0.0:
            raise ValueError(f"epsilon must be positive. Received: epsilon={epsilon!r}")
        self.axis = axis
        self.momentum = float(momentum)
        self.epsilon = float(epsilon)
        self.scale = bool(scale)
        self.center = False
        self.gamma_initializer = keras.initializers.get(gamma_initializer)
        self.moving_variance_initializer = keras.initializers.get(
            moving_variance_initializer
        )
        self.gamma_regularizer = keras.regularizers.get(gamma_regularizer)
        self.gamma_constraint = keras.constraints.get(gamma_constraint)
        self.supports_masking = True

    def build(self, input_shape):
        rank = len(input_shape)
        axis = self.axis % rank
        channels = input_shape[axis]
        if channels is None:
            raise ValueError(
                f"BiasFreeBatchNorm needs a known size on axis {self.axis}. "
                f"Received: input_shape={tuple(input_shape)}"
            )
        self._channel_axis = axis
        self._reduction_axes = [i for i in range(rank) if i != axis]
        self._broadcast_shape = [1] * rank
        self._broadcast_shape[axis] = channels
        self.gamma = None
        if self.scale:
            self.gamma = self.add_weight(
                name="gamma",
                shape=(channels,),
                initializer=self.gamma_initializer,
                regularizer=self.gamma_regularizer,
                constraint=self.gamma_constraint,
            )
        self.moving_variance = self.add_weight(
            name="moving_variance",
            shape=(channels,),
            initializer=self.moving_variance_initializer,
            trainable=False,
            autocast=False,
        )
        self.input_spec = keras.layers.InputSpec(ndim=rank, axes={axis: channels})

    def call(self, inputs, training=False):
        compute_dtype = inputs.dtype
        # Statistics in float32 even under mixed precision, as BatchNormalization.
        x = ops.cast(inputs, "float32")
        if training:
            variance = ops.var(x, axis=self._reduction_axes)
            self.moving_variance.assign(
                self.momentum * self.moving_variance
                + (1.0 - self.momentum) * ops.cast(variance, self.moving_variance.dtype)
            )
        else:
            variance = ops.cast(self.moving_variance, "float32")
        factor = ops.rsqrt(variance + self.epsilon)
        if self.gamma is not None:
            factor = factor * ops.cast(self.gamma, "float32")
        outputs = x * ops.reshape(factor, self._broadcast_shape)
        return ops.cast(outputs, compute_dtype)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "axis": self.axis,
                "momentum": self.momentum,
                "epsilon": self.epsilon,
                "scale": self.scale,
                "gamma_initializer": keras.initializers.serialize(
                    self.gamma_initializer
                ),
                "moving_variance_initializer": keras.initializers.serialize(
                    self.moving_variance_initializer
                ),
                "gamma_regularizer": keras.regularizers.serialize(
                    self.gamma_regularizer
                ),
                "gamma_constraint": keras.constraints.serialize(self.gamma_constraint),
                "center": False,
            }
        )
        return config
