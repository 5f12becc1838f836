"""The base class of the linear measurement operators of inverse problems."""

import numpy as np
from keras import ops


class Operator:
    """A linear measurement `M^T` whose adjoint `M` is semi-orthogonal.

    Kadkhodaie & Simoncelli write a linear inverse problem as recovering an
    image `x` of `N` values from `m < N` measurements `x_c = M^T x`, where the
    columns of the `N x m` matrix `M` are orthonormal: `M^T M = I`. Then
    `M M^T` is the orthogonal projection onto the measured subspace, and
    `x + M (x_c - M^T x)` is the image closest to `x` that is consistent with
    the measurements. Every operator here has that structure, applied
    matrix-free to batches:

    - `forward(x)` is `M^T`: images `(batch, H, W, C)` to measurements
      `(batch, *measurement_shape)`.
    - `adjoint(v)` is `M`: measurements back to images.

    An operator is built for one image shape, either at construction
    (`image_shape=(H, W, C)`) or on the first call of `forward`, like a Keras
    layer. Operators use `keras.ops` only and are usable inside a `tf.function`.

    Subclasses implement `_build(image_shape)` (set `self._measurement_shape`),
    `_forward(x)` and `_adjoint(v)`.

    Args:
        image_shape: optional `(height, width, channels)` to build at once.

    Reference:
        Kadkhodaie, Simoncelli. "Solving linear inverse problems using the
        prior implicit in a denoiser." NeurIPS 2021 (arXiv 2007.13640).
    """

    def __init__(self, image_shape=None):
        self.image_shape = None
        self.built = False
        self._measurement_shape = None
        if image_shape is not None:
            self.build(image_shape)

    # Subclass hooks.
    def _build(self, image_shape):
        raise NotImplementedError

    def _forward(self, x):
        raise NotImplementedError

    def _adjoint(self, v):
        raise NotImplementedError

    def build(self, image_shape):
        """Fixes the image shape `(height, width, channels)`; idempotent.

        Raises:
            ValueError: a shape that is not three positive ints, or one that
                differs from the shape the operator is already built for.
        """
        shape = _check_image_shape(image_shape)
        if self.built:
            if shape != self.image_shape:
                raise ValueError(
                    f"{type(self).__name__} is built for images of shape "
                    f"{self.image_shape}. Received: image_shape={shape}"
                )
            return
        self._build(shape)
        self.image_shape = shape
        self.built = True

    @property
    def measurement_shape(self):
        """The shape of one example's measurements (no batch axis)."""
        self._require_built("measurement_shape")
        return tuple(self._measurement_shape)

    @property
    def num_measurements(self):
        """`m`, the number of measurements per example (columns of `M`)."""
        return int(np.prod(self.measurement_shape))

    @property
    def num_values(self):
        """`N`, the number of values of one image (rows of `M`)."""
        self._require_built("num_values")
        return int(np.prod(self.image_shape))

    def forward(self, x):
        """`M^T x`: images `(batch, H, W, C)` to measurements.

        Builds the operator for `x.shape[1:]` on the first call.
        """
        x = ops.convert_to_tensor(x)
        if len(x.shape) != 4:
            raise ValueError(
                "x must be a batch of images of rank 4 (batch, height, width, "
                f"channels). Received: x with shape {tuple(x.shape)}"
            )
        self.build(tuple(x.shape[1:]))
        return self._forward(x)

    def adjoint(self, v):
        """`M v`: measurements `(batch, *measurement_shape)` to images."""
        self._require_built("adjoint")
        v = ops.convert_to_tensor(v)
        if tuple(v.shape[1:]) != self.measurement_shape:
            raise ValueError(
                f"v must have shape (batch, *{self.measurement_shape}). "
                f"Received: v with shape {tuple(v.shape)}"
            )
        return self._adjoint(v)

    def __call__(self, x):
        return self.forward(x)

    def project(self, x):
        """`M M^T x`, the orthogonal projection onto the measured subspace."""
        return self.adjoint(self.forward(x))

    def enforce(self, x, measurement):
        """`x + M (measurement - M^T x)`: the closest image consistent with it."""
        x = ops.convert_to_tensor(x)
        measurement = ops.cast(ops.convert_to_tensor(measurement), x.dtype)
        return x + self.adjoint(measurement - self.forward(x))

    def mean_fill(self, measurement):
        """The naive reconstruction: `M measurement`, constant elsewhere.

        The unmeasured subspace `(I - M M^T)` is filled with the constant
        image `c e` whose value `c = <M^T e, x_c> / ||M^T e||^2` fits the
        measurements best (for inpainting: the mean of the observed pixels).
        The baseline that an inverse-problem solver has to beat.

        Args:
            measurement: `(batch, *measurement_shape)`.

        Returns:
            Images `(batch, H, W, C)`.
        """
        self._require_built("mean_fill")
        measurement = ops.convert_to_tensor(measurement)
        ones = ops.ones((1, *self.image_shape), dtype=measurement.dtype)
        ones_measured = self.forward(ones)
        axes = tuple(range(1, len(measurement.shape)))
        denominator = ops.maximum(ops.sum(ops.square(ones_measured)), 1e-12)
        c = ops.sum(measurement * ones_measured, axis=axes) / denominator
        c = ops.reshape(c, (-1, 1, 1, 1))
        observed = self.adjoint(measurement)
        return observed + c * (ones - self.adjoint(ones_measured))

    def get_config(self):
        """The constructor arguments, for `repr` and rebuilding."""
        return {"image_shape": self.image_shape}

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"

    def _require_built(self, what):
        if not self.built:
            raise ValueError(
                f"{type(self).__name__}.{what} needs the image shape: pass "
                "image_shape=(height, width, channels) to the constructor or call "
                "forward() on a batch first."
            )


def _check_image_shape(image_shape):
    try:
        shape = tuple(int(d) for d in image_shape)
    except (TypeError, ValueError):
        shape = None
    if shape is None or len(shape) != 3 or min(shape) < 1:
        raise ValueError(
            "image_shape must be (height, width, channels), three positive ints. "
            f"Received: image_shape={image_shape!r}"
        )
    return shape
