"""Checks of user input that fail early with messages naming the argument."""

import math

import keras
import numpy as np
from keras import ops


def _dtype_of(value):
    dtype = getattr(value, "dtype", None)
    if dtype is None:
        dtype = np.asarray(value).dtype
    return keras.backend.standardize_dtype(dtype)


def _shape_of(value):
    shape = getattr(value, "shape", None)
    if shape is None:
        shape = np.shape(value)
    return tuple(None if d is None else int(d) for d in shape)


def check_images(value, name="y", channels=None, rank=4):
    """Checks a float NHWC image batch; returns its static shape.

    Raises:
        TypeError: integer or boolean images.
        ValueError: wrong rank, wrong channel count or an empty batch.
    """
    dtype = _dtype_of(value)
    if "float" not in dtype:
        raise TypeError(
            f"{name} must be floating-point images in [0, 1]. Received: {name} with "
            f"dtype {dtype}. Convert first, e.g. {name}.astype('float32') / 255."
        )
    shape = _shape_of(value)
    if rank is not None and len(shape) != rank:
        raise ValueError(
            f"{name} must be a batch of images of rank {rank} (batch, height, width, "
            f"channels). Received: {name} with shape {shape}"
        )
    if channels is not None and shape[-1] is not None and shape[-1] != channels:
        raise ValueError(
            f"{name} must have {channels} channel(s) (last axis). Received: {name} "
            f"with shape {shape}"
        )
    if shape and shape[0] == 0:
        raise ValueError(
            f"{name} is an empty batch. Received: {name} with shape {shape}"
        )
    return shape


def check_sigma(sigma, name="sigma"):
    """Checks that a Python/NumPy noise level is finite and positive.

    Tensors inside a traced function are left to the caller.
    """
    try:
        values = np.asarray(sigma, dtype="float64")
    except (TypeError, ValueError, NotImplementedError):  # symbolic tensors
        return sigma
    if values.dtype == object:
        return sigma
    if values.size == 0:
        raise ValueError(f"{name} is empty. Received: {name}={sigma!r}")
    if not np.all(np.isfinite(values)):
        raise ValueError(f"{name} must be finite. Received: {name}={sigma!r}")
    if not np.all(values > 0):
        raise ValueError(f"{name} must be positive. Received: {name}={sigma!r}")
    return sigma


def sigma_tensor(sigma, dtype):
    """sigma as a tensor of `dtype`, without a float32 detour for Python floats."""
    if ops.is_tensor(sigma):
        return ops.cast(sigma, dtype)
    dtype = keras.backend.standardize_dtype(dtype)
    return ops.convert_to_tensor(np.asarray(sigma, dtype=dtype))


def check_choice(value, name, choices):
    if value not in choices:
        raise ValueError(f"{name} must be one of {choices}. Received: {name}={value!r}")
    return value


def check_positive_int(value, name, minimum=1):
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ValueError(
            f"{name} must be an int >= {minimum}. Received: {name}={value!r}"
        )
    return value


def check_positive_float(value, name):
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError(f"{name} must be a number. Received: {name}={value!r}")
    if not (math.isfinite(value) and value > 0):
        raise ValueError(
            f"{name} must be finite and positive. Received: {name}={value!r}"
        )
    return float(value)
