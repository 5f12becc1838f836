"""Peak signal-to-noise ratio, as a function and as a Keras metric."""

import keras
import numpy as np
from keras import ops


def psnr(y_true, y_pred, max_val=1.0):
    """Per-example PSNR in dB: `10 log10(max_val^2 / mean((y_true - y_pred)^2))`.

    Args:
        y_true: clean images, shape `(batch, ...)`.
        y_pred: estimates, same shape.
        max_val: the peak value of the data range. Defaults to `1.0`.

    Returns:
        A `(batch,)` tensor; `inf` where the images are equal.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> x = np.zeros((1, 4, 4, 1), "float32")
    >>> float(km.metrics.psnr(x, x + 0.1)[0])  # doctest: +ELLIPSIS
    20.0...
    """
    y_true = ops.convert_to_tensor(y_true)
    y_pred = ops.cast(ops.convert_to_tensor(y_pred), y_true.dtype)
    if tuple(y_true.shape) != tuple(y_pred.shape):
        raise ValueError(
            "y_true and y_pred must have the same shape. Received: y_true with shape "
            f"{tuple(y_true.shape)}, y_pred with shape {tuple(y_pred.shape)}"
        )
    diff = ops.reshape(y_true - y_pred, (ops.shape(y_true)[0], -1))
    mse = ops.mean(ops.square(diff), axis=-1)
    return 10.0 * ops.log10(max_val**2 / mse)


def image_psnr(reference, image, max_val=1.0):
    """PSNR in dB of one image (or a whole array) against a reference, in NumPy.

    `10 log10(max_val^2 / mean((image - reference)^2))` over all values, in
    float64; `inf` when they are equal. Neither input is clipped.

    Args:
        reference: the clean array.
        image: the estimate, same shape.
        max_val: the peak value of the data range. Defaults to `1.0`.

    Returns:
        A Python float.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> round(km.metrics.image_psnr(np.zeros((4, 4)), np.full((4, 4), 0.1)), 6)
    20.0
    """
    mse = np.mean((np.asarray(image, np.float64) - np.asarray(reference)) ** 2)
    return float("inf") if mse == 0 else float(10.0 * np.log10(max_val**2 / mse))


@keras.saving.register_keras_serializable(package="keras_miyasawa")
class PSNR(keras.metrics.MeanMetricWrapper):
    """Mean per-example PSNR in dB, for `model.compile(metrics=[...])`.

    Args:
        max_val: the peak value of the data range. Defaults to `1.0`.
        name: metric name. Defaults to `"psnr"`.
        dtype: metric dtype.

    Example:

    >>> import keras_miyasawa as km
    >>> model = km.models.DnCNN(depth=3, filters=4)
    >>> model.compile(optimizer="adam", loss="mse", metrics=[km.metrics.PSNR()])
    """

    def __init__(self, max_val=1.0, name="psnr", dtype=None):
        super().__init__(fn=psnr, name=name, dtype=dtype, max_val=max_val)
        self.max_val = max_val

    def get_config(self):
        return {"max_val": self.max_val, "name": self.name, "dtype": self.dtype}
