"""UNet denoiser, bias-free by default (Mohan et al. 2020's BF-UNet)."""

import keras

from keras_miyasawa import _validation
from keras_miyasawa.models import _blocks
from keras_miyasawa.models.denoiser import Denoiser
from keras_miyasawa.models.unet._size_layers import CropLike
from keras_miyasawa.models.unet._size_layers import PadToMultiple


@keras.saving.register_keras_serializable(package="keras_miyasawa")
class UNet(Denoiser):
    """A small UNet with a dilated bottleneck.

    With the defaults it is the BF-UNet of Mohan et al. (2020): conv 5x5/32,
    conv 3x3/32 (the skip), stride-2 conv 3x3/64, conv 3x3/64, dilated convs
    3x3/64 (rates 2 and 4), transposed conv 4x4/64 stride 2, concatenation with
    the skip, conv 3x3/32, and a linear conv 5x5 to `channels`; ReLU after every
    layer but the last. `levels` repeats the down/up stage (widths double per
    level). The input is zero-padded at the bottom/right to a multiple of
    `2**levels` and the output cropped back, so any size works. With
    `residual=True` (the default) the model returns `y + r(y)`; `residual=False`
    returns the last conv itself, as the reference network does.

    Args:
        channels: 1 (gray) or 3 (colour).
        filters: int, the width of the first level. Defaults to `32`.
        levels: int >= 1, the number of downsampling stages. Defaults to `1`.
        batch_norm: bool, batch norm after every hidden conv. Defaults to
            `False` (the reference network has none).
        bias_free: bool. Defaults to `True`.
        residual: bool. Defaults to `True`.
        dtype: optional dtype policy of every layer.
        **kwargs: `name`, `trainable`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> model = km.models.UNet(channels=3, filters=8)
    >>> model(np.zeros((1, 31, 45, 3), "float32")).shape
    TensorShape([1, 31, 45, 3])

    Reference:
        Mohan, Kadkhodaie, Simoncelli, Fernandez-Granda. "Robust and
        interpretable blind image denoising via bias-free convolutional
        neural networks." ICLR 2020.
    """

    def __init__(
        self,
        channels=1,
        filters=32,
        levels=1,
        batch_norm=False,
        bias_free=True,
        residual=True,
        dtype=None,
        **kwargs,
    ):
        _validation.check_choice(channels, "channels", (1, 3))
        _validation.check_positive_int(filters, "filters")
        _validation.check_positive_int(levels, "levels")
        kwargs.setdefault("name", "bf_unet" if bias_free else "unet")

        def conv_block(x, width, kernel_size, name, **conv_kwargs):
            x = _blocks.apply_conv(
                x, width, kernel_size, bias_free, name, dtype=dtype, **conv_kwargs
            )
            if batch_norm:
                x = _blocks.apply_batch_norm(x, bias_free, f"{name}_bn", dtype=dtype)
            return _blocks.apply_relu(x, f"{name}_relu", dtype=dtype)

        noisy = keras.Input(shape=(None, None, channels), name="noisy")
        x = PadToMultiple(2**levels, dtype=dtype, name="pad")(noisy)
        x = conv_block(x, filters, 5, "enc_0_conv_a")
        x = conv_block(x, filters, 3, "enc_0_conv_b")
        skips = [x]
        for level in range(1, levels + 1):
            width = filters * 2**level
            # Symmetric padding 1, as PyTorch's Conv2d(padding=1), not "same".
            x = conv_block(x, width, 3, f"down_{level}", strides=2, padding=1)
            x = conv_block(x, width, 3, f"enc_{level}_conv")
            skips.append(x)
        skips.pop()
        width = filters * 2**levels
        x = conv_block(x, width, 3, "bottleneck_dilated_2", dilation_rate=2)
        x = conv_block(x, width, 3, "bottleneck_dilated_4", dilation_rate=4)
        for level in range(levels, 0, -1):
            x = _blocks.apply_conv_transpose(
                x, filters * 2**level, 4, 2, bias_free, f"up_{level}", dtype=dtype
            )
            if batch_norm:
                x = _blocks.apply_batch_norm(
                    x, bias_free, f"up_{level}_bn", dtype=dtype
                )
            x = _blocks.apply_relu(x, f"up_{level}_relu", dtype=dtype)
            x = keras.layers.Concatenate(dtype=dtype, name=f"concat_{level - 1}")(
                [x, skips.pop()]
            )
            x = conv_block(x, filters * 2 ** (level - 1), 3, f"dec_{level - 1}_conv")
        out = _blocks.apply_conv(x, channels, 5, bias_free, "output_conv", dtype=dtype)
        out = CropLike(dtype=dtype, name="crop")([out, noisy])
        if residual:
            out = keras.layers.Add(dtype=dtype, name="residual")([noisy, out])
        super().__init__(inputs=noisy, outputs=out, dtype=dtype, **kwargs)

        self.channels = channels
        self.filters = filters
        self.levels = levels
        self.batch_norm = batch_norm
        self.bias_free = bias_free
        self.residual = residual

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "channels": self.channels,
                "filters": self.filters,
                "levels": self.levels,
                "batch_norm": self.batch_norm,
                "bias_free": self.bias_free,
                "residual": self.residual,
            }
        )
        return config
