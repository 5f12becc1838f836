"""DnCNN (Zhang et al. 2017), bias-free by default (Mohan et al. 2020)."""

import keras

from keras_miyasawa import _validation
from keras_miyasawa.models import _blocks
from keras_miyasawa.models.denoiser import Denoiser


@keras.saving.register_keras_serializable(package="keras_miyasawa")
class DnCNN(Denoiser):
    """DnCNN: a stack of 3x3 convolutions, batch norm and ReLU.

    `depth` convolutions in all: conv + ReLU, then `depth - 2` blocks of
    conv + batch norm + ReLU, then a linear output conv `r(y)`. With
    `residual=True` the model returns `x_hat = y + r(y)`, so `r(y)` is the
    Miyasawa residual `sigma^2 * grad log p(y)`. With `bias_free=True` (the
    default, "BF-DnCNN") no layer has an additive term and the network is
    positively homogeneous in inference: `f(a * y) = a * f(y)` for `a > 0`.
    `bias_free=False` builds the same graph with `Conv2D(use_bias=True)` and
    `BatchNormalization`, for comparisons. Any spatial size is accepted.

    Args:
        channels: 1 (gray) or 3 (colour).
        depth: int >= 2, the number of convolutions. Defaults to `20`.
        filters: int, the width of the hidden layers. Defaults to `64`.
        kernel_size: int, the kernel size of every convolution. Defaults to `3`.
        batch_norm: bool, batch norm in the hidden blocks. Defaults to `True`.
        bias_free: bool. Defaults to `True`.
        residual: bool, return `y + r(y)` (`True`) or `r(y)` itself as the
            clean estimate (`False`). Defaults to `True`.
        dtype: optional dtype policy of every layer (e.g. `"mixed_bfloat16"`).
        **kwargs: `name`, `trainable`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> model = km.models.DnCNN(channels=1, depth=5, filters=16)
    >>> model(np.zeros((1, 32, 40, 1), "float32")).shape
    TensorShape([1, 32, 40, 1])

    Reference:
        Zhang, Zuo, Chen, Meng, Zhang. "Beyond a Gaussian denoiser: residual
        learning of deep CNN for image denoising." IEEE TIP 2017.
        Mohan, Kadkhodaie, Simoncelli, Fernandez-Granda. ICLR 2020.
    """

    def __init__(
        self,
        channels=1,
        depth=20,
        filters=64,
        kernel_size=3,
        batch_norm=True,
        bias_free=True,
        residual=True,
        dtype=None,
        **kwargs,
    ):
        _validation.check_choice(channels, "channels", (1, 3))
        _validation.check_positive_int(depth, "depth", minimum=2)
        _validation.check_positive_int(filters, "filters")
        _validation.check_positive_int(kernel_size, "kernel_size")
        kwargs.setdefault("name", "bf_dncnn" if bias_free else "dncnn")

        noisy = keras.Input(shape=(None, None, channels), name="noisy")
        x = _blocks.apply_conv(
            noisy, filters, kernel_size, bias_free, "input_conv", dtype=dtype
        )
        x = _blocks.apply_relu(x, "input_relu", dtype=dtype)
        for i in range(1, depth - 1):
            x = _blocks.apply_conv(
                x, filters, kernel_size, bias_free, f"hidden_conv_{i}", dtype=dtype
            )
            if batch_norm:
                x = _blocks.apply_batch_norm(
                    x, bias_free, f"hidden_bn_{i}", dtype=dtype
                )
            x = _blocks.apply_relu(x, f"hidden_relu_{i}", dtype=dtype)
        out = _blocks.apply_conv(
            x, channels, kernel_size, bias_free, "output_conv", dtype=dtype
        )
        if residual:
            out = keras.layers.Add(dtype=dtype, name="residual")([noisy, out])
        super().__init__(inputs=noisy, outputs=out, dtype=dtype, **kwargs)

        self.channels = channels
        self.depth = depth
        self.filters = filters
        self.kernel_size = kernel_size
        self.batch_norm = batch_norm
        self.bias_free = bias_free
        self.residual = residual

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "depth": self.depth,
                "filters": self.filters,
                "kernel_size": self.kernel_size,
                "batch_norm": self.batch_norm,
                "bias_free": self.bias_free,
                "residual": self.residual,
            }
        )
        return config
