"""Super-resolution: orthonormal block averaging."""

from keras import ops

from keras_miyasawa import _validation
from keras_miyasawa.operators.operator import Operator


class SuperResolution(Operator):
    """Downsampling by `factor` with orthonormal block averaging.

    `M^T` sums each `factor x factor` block and divides by `factor` (the
    block mean times `factor`), so each measurement is the inner product with
    a unit-norm indicator of its block: the blocks are disjoint, hence
    `M^T M = I`. `M` spreads a value evenly over its block (divided by
    `factor`). The measurements are a low-resolution image
    `(batch, H / factor, W / factor, C)` (scaled by `factor`).

    Args:
        factor: int >= 2, the downsampling factor on each axis.
        image_shape: optional `(height, width, channels)`, both sides
            divisible by `factor`.

    Raises:
        ValueError: a side of the image not divisible by `factor`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> op = km.operators.SuperResolution(4)
    >>> op.forward(np.ones((1, 8, 8, 1), "float32"))[0, :, :, 0].numpy()
    array([[4., 4.],
           [4., 4.]], dtype=float32)

    Reference:
        Kadkhodaie, Simoncelli. "Solving linear inverse problems using the
        prior implicit in a denoiser." NeurIPS 2021 (arXiv 2007.13640), sec. 4.
    """

    def __init__(self, factor, image_shape=None):
        self.factor = _validation.check_positive_int(factor, "factor", minimum=2)
        super().__init__(image_shape)

    def _build(self, image_shape):
        height, width, channels = image_shape
        if height % self.factor or width % self.factor:
            raise ValueError(
                f"The image height and width must be divisible by factor="
                f"{self.factor}. Received: image_shape={image_shape}"
            )
        self._measurement_shape = (
            height // self.factor,
            width // self.factor,
            channels,
        )

    def _forward(self, x):
        pooled = ops.average_pool(x, self.factor, strides=self.factor, padding="valid")
        return pooled * float(self.factor)

    def _adjoint(self, v):
        up = ops.repeat(ops.repeat(v, self.factor, axis=1), self.factor, axis=2)
        return up / float(self.factor)

    def get_config(self):
        return {"factor": self.factor, "image_shape": self.image_shape}
