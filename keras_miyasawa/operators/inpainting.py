"""Inpainting: observe the pixels outside a hole (or under a mask)."""

import numpy as np
from keras import ops

from keras_miyasawa.operators.operator import Operator


class Inpainting(Operator):
    """Keeps the observed pixels of an image: `M^T` selects, `M` zero-fills.

    The measurements are the `m` observed values, flattened in row-major
    `(height, width, channels)` order, so `M` is a set of `m` columns of the
    identity and `M^T M = I` exactly. Give either a `mask` (1 = observed,
    0 = missing) or a rectangular `hole`.

    Args:
        mask: optional array `(height, width)` (the same for every channel)
            or `(height, width, channels)`; non-zero means observed.
        hole: optional `(top, left, height, width)` of the missing rectangle.
        image_shape: optional `(height, width, channels)`; taken from a 3-D
            `mask`, otherwise from the first batch passed to `forward`.

    Raises:
        ValueError: neither or both of `mask` and `hole`, a hole outside the
            image, or a mask that observes nothing.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> op = km.operators.Inpainting(hole=(2, 2, 4, 4), image_shape=(8, 8, 1))
    >>> op.num_measurements  # 64 pixels minus a 4x4 hole
    48
    >>> x = np.random.default_rng(0).uniform(size=(2, 8, 8, 1)).astype("float32")
    >>> op.forward(x).shape
    TensorShape([2, 48])

    Reference:
        Kadkhodaie, Simoncelli. "Solving linear inverse problems using the
        prior implicit in a denoiser." NeurIPS 2021 (arXiv 2007.13640), sec. 4.
    """

    def __init__(self, mask=None, hole=None, image_shape=None):
        if (mask is None) == (hole is None):
            raise ValueError(
                "Inpainting needs exactly one of mask and hole. "
                f"Received: mask={_describe(mask)}, hole={hole!r}"
            )
        self.hole = None
        self.mask = None
        if hole is not None:
            try:
                hole = tuple(int(v) for v in hole)
            except (TypeError, ValueError):
                hole = None
            if hole is None or len(hole) != 4 or min(hole[2:]) < 1 or min(hole) < 0:
                raise ValueError(
                    "hole must be (top, left, height, width) with non-negative "
                    "corner and positive size. Received: hole="
                    f"{hole!r}"
                )
            self.hole = hole
        else:
            mask = np.asarray(mask)
            if mask.ndim not in (2, 3) or mask.size == 0:
                raise ValueError(
                    "mask must have shape (height, width) or (height, width, "
                    f"channels). Received: mask with shape {mask.shape}"
                )
            self.mask = mask != 0
            if mask.ndim == 3 and image_shape is None:
                image_shape = mask.shape
        super().__init__(image_shape)

    def _full_mask(self, image_shape):
        height, width, channels = image_shape
        if self.hole is not None:
            top, left, hole_h, hole_w = self.hole
            if top + hole_h > height or left + hole_w > width:
                raise ValueError(
                    f"hole={self.hole} does not fit in images of shape {image_shape}."
                )
            mask = np.ones(image_shape, bool)
            mask[top : top + hole_h, left : left + hole_w, :] = False
            return mask
        mask = self.mask
        if mask.ndim == 2:
            mask = mask[:, :, None]
        if mask.shape[:2] != (height, width) or mask.shape[2] not in (1, channels):
            raise ValueError(
                f"mask of shape {self.mask.shape} does not match images of shape "
                f"{image_shape}."
            )
        return np.broadcast_to(mask, image_shape).copy()

    def _build(self, image_shape):
        mask = self._full_mask(image_shape)
        observed = np.flatnonzero(mask.reshape(-1))
        if observed.size == 0:
            raise ValueError("The mask observes no pixel: nothing to measure.")
        self.observed_mask = mask
        self._observed = observed.astype("int32")
        # For the adjoint: the measurement index of each pixel, or `m` (a zero
        # appended to the measurements) for a missing one.
        source = np.full(mask.size, observed.size, dtype="int32")
        source[observed] = np.arange(observed.size, dtype="int32")
        self._source = source
        self._measurement_shape = (int(observed.size),)

    def _forward(self, x):
        flat = ops.reshape(x, (ops.shape(x)[0], -1))
        return ops.take(flat, self._observed, axis=1)

    def _adjoint(self, v):
        padded = ops.concatenate([v, ops.zeros_like(v[:, :1])], axis=1)
        flat = ops.take(padded, self._source, axis=1)
        return ops.reshape(flat, (-1, *self.image_shape))

    def get_config(self):
        config = {"hole": self.hole, "image_shape": self.image_shape}
        if self.mask is not None:
            config["mask"] = _describe(self.mask)
        return config


def _describe(mask):
    if mask is None:
        return None
    return f"<array of shape {np.shape(mask)}>"
