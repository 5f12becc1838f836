"""Reading and writing images as float32 `(height, width, channels)` in [0, 1].

PNG, JPEG and TIFF go through Pillow; `.npy` files hold the float array itself
(read memory-mapped, so a large image is not loaded at once). Writes go to a
temporary file in the destination folder that is renamed when complete, so an
interrupted write never leaves a truncated image, and an existing file is only
replaced with `overwrite=True`.
"""

import contextlib
import os
import tempfile
from pathlib import Path

import numpy as np

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".tif", ".tiff")
SUFFIXES = IMAGE_SUFFIXES + (".npy",)
_PIL_FORMATS = {
    ".png": "PNG",
    ".jpg": "JPEG",
    ".jpeg": "JPEG",
    ".tif": "TIFF",
    ".tiff": "TIFF",
}


def _check_suffix(path, name):
    suffix = Path(path).suffix.lower()
    if suffix not in SUFFIXES:
        raise ValueError(
            f"{name} must be a {'/'.join(s[1:] for s in SUFFIXES)} file. "
            f"Received: {name}={str(path)!r}"
        )
    return suffix


def _existing_file_suffix(path, name):
    suffix = _check_suffix(path, name)
    if not path.is_file():
        raise FileNotFoundError(f"No such file: {name}={str(path)!r}")
    return suffix


def _open_npy(path, name):
    """The `.npy` array, memory-mapped (nothing is read until used)."""
    try:
        return np.load(path, mmap_mode="r", allow_pickle=False)
    except (ValueError, OSError) as error:
        raise ValueError(
            f"{name}={str(path)!r} is not a readable .npy array ({error})"
        ) from None


@contextlib.contextmanager
def _open_pil(path, name):
    """The image opened lazily by Pillow; its errors become a named ValueError."""
    from PIL import Image
    from PIL import UnidentifiedImageError

    try:
        with Image.open(path) as image:
            yield image
    except (UnidentifiedImageError, OSError, SyntaxError) as error:
        raise ValueError(
            f"{name}={str(path)!r} is not a readable image ({error})"
        ) from None


def read_image(path, name="path"):
    """Reads an image file as float32 `(height, width, channels)` in [0, 1].

    8-bit images are divided by 255 and 16-bit ones by 65535; float TIFFs and
    float `.npy` arrays are returned as stored; integer `.npy` arrays are
    treated like 8/16-bit images. Gray images get one channel, RGB three;
    palette images are converted to RGB.
    A float `.npy` file is returned memory-mapped (read-only).

    Args:
        path: a `.png`, `.jpg`/`.jpeg`, `.tif`/`.tiff` or `.npy` file.
        name: the name used for `path` in error messages.

    Returns:
        A float32 NumPy array `(height, width, channels)`.

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown suffix, an unreadable file, or an array that is
            not an image.

    Example:

    >>> import tempfile
    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> path = tempfile.mkdtemp() + "/gray.png"
    >>> _ = km.image_io.write_image(path, np.full((4, 6, 1), 0.5, "float32"))
    >>> km.image_io.read_image(path).shape
    (4, 6, 1)
    """
    path = Path(path)
    suffix = _existing_file_suffix(path, name)
    if suffix == ".npy":
        array = _open_npy(path, name)
    else:
        with _open_pil(path, name) as image:
            if image.mode == "P":
                image = image.convert("RGBA" if "transparency" in image.info else "RGB")
            elif image.mode in ("1", "CMYK", "YCbCr"):
                image = image.convert("L" if image.mode == "1" else "RGB")
            elif image.mode in ("I;16", "I;16B", "I;16L"):
                image = image.convert("I")
                array = np.asarray(image, np.float64) / 65535.0
                return array.astype(np.float32)[..., None]
            array = np.asarray(image)
    return _to_float_image(array, name, path)


_PIL_MODE_CHANNELS = {"1": 1, "L": 1, "I": 1, "F": 1, "LA": 2, "PA": 4, "RGBA": 4}


def image_channels(path, name="path"):
    """The channel count `read_image(path)` gives, from the file header only.

    Nothing is decoded (Pillow opens lazily, `.npy` headers are read
    memory-mapped), so checking a whole folder before any work is cheap.

    Args:
        path: a `.png`, `.jpg`/`.jpeg`, `.tif`/`.tiff` or `.npy` file.
        name: the name used for `path` in error messages.

    Returns:
        An int: 1 (gray), 3 (RGB), or 2/4 for images with an alpha channel,
        which `read_image` refuses.

    Raises:
        FileNotFoundError: no such file.
        ValueError: an unknown suffix or an unreadable header.

    Example:

    >>> import tempfile
    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> path = tempfile.mkdtemp() + "/rgb.png"
    >>> _ = km.image_io.write_image(path, np.zeros((4, 6, 3)))
    >>> km.image_io.image_channels(path)
    3
    """
    path = Path(path)
    suffix = _existing_file_suffix(path, name)
    if suffix == ".npy":
        shape = _open_npy(path, name).shape
        return 1 if len(shape) == 2 else int(shape[-1]) if shape else 0
    with _open_pil(path, name) as image:
        mode, info = image.mode, image.info
    if mode == "P":
        return 4 if "transparency" in info else 3
    return _PIL_MODE_CHANNELS.get(mode, 1 if mode.startswith("I;16") else 3)


def _to_float_image(array, name, path):
    if array.ndim == 2:
        array = array[..., None]
    if array.ndim != 3 or array.shape[-1] not in (1, 2, 3, 4) or 0 in array.shape:
        raise ValueError(
            f"{name}={str(path)!r} must hold an image (height, width[, channels]) "
            f"with 1-4 channels. Received: an array of shape {array.shape}"
        )
    if array.shape[-1] in (2, 4):
        raise ValueError(
            f"{name}={str(path)!r} has an alpha channel ({array.shape[-1]} "
            "channels); remove it first (gray or RGB only)."
        )
    if array.dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if array.dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if array.dtype == np.bool_:
        return array.astype(np.float32)
    if np.issubdtype(array.dtype, np.integer):
        return (array.astype(np.float64) / 255.0).astype(np.float32)
    if np.issubdtype(array.dtype, np.floating):
        return array if array.dtype == np.float32 else array.astype(np.float32)
    raise ValueError(
        f"{name}={str(path)!r} must hold numbers. Received: dtype {array.dtype}"
    )


def atomic_write(path, write):
    """Writes a file through a temporary file in its folder, renamed when done.

    A reader never sees a half-written file, and an interrupted write leaves
    the previous file (if any) untouched. The file gets the usual permissions
    (0666 minus the umask).

    Args:
        path: the destination.
        write: a callable taking the open binary file object.

    Returns:
        `path` as a `pathlib.Path`.
    """
    path = Path(path)
    handle, temp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent
    )
    try:
        with os.fdopen(handle, "wb") as file:
            write(file)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(temp, 0o666 & ~umask)
        os.replace(temp, path)
    except BaseException:
        if os.path.exists(temp):
            os.unlink(temp)
        raise
    return path


def check_writable(path, overwrite=False, name="path"):
    """Checks that `path` may be written: known suffix, and new unless `overwrite`.

    Raises:
        ValueError: an unknown suffix.
        FileExistsError: `path` exists and `overwrite` is `False`.
        FileNotFoundError: its folder does not exist.
    """
    path = Path(path)
    _check_suffix(path, name)
    if path.exists() and not overwrite:
        raise FileExistsError(
            f"{name}={str(path)!r} already exists; pass --overwrite "
            "(overwrite=True) to replace it."
        )
    if not path.parent.is_dir():
        raise FileNotFoundError(f"The folder of {name}={str(path)!r} does not exist.")
    return path


def write_image(path, image, overwrite=False):
    """Writes a float image `(height, width, channels)` atomically.

    Image formats get the values clipped to [0, 1] and rounded to 8 bits
    (JPEG at quality 95); `.npy` stores the float32 array unclipped.

    Args:
        path: the file to write; its suffix picks the format.
        image: float array `(height, width, 1 or 3)` or `(height, width)`.
        overwrite: replace an existing file. Defaults to `False`.

    Returns:
        `path` as a `pathlib.Path`.

    Raises:
        FileExistsError: `path` exists and `overwrite` is `False`.
        ValueError: an unknown suffix or an image of the wrong shape.
    """
    path = check_writable(path, overwrite)
    image = np.asarray(image, np.float32)
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(
            "image must be (height, width, 1 or 3). "
            f"Received: image with shape {image.shape}"
        )
    suffix = path.suffix.lower()

    def write(file):
        if suffix == ".npy":
            np.save(file, image)
            return
        from PIL import Image

        pixels = np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)
        pixels = pixels[..., 0] if pixels.shape[-1] == 1 else pixels
        options = {"quality": 95} if _PIL_FORMATS[suffix] == "JPEG" else {}
        Image.fromarray(pixels).save(file, format=_PIL_FORMATS[suffix], **options)

    atomic_write(path, write)
    return path


def list_images(folder, name="data"):
    """The image files (any supported suffix) of a folder, sorted by name.

    Raises:
        FileNotFoundError: `folder` is not a folder.
        ValueError: it holds no image.
    """
    folder = Path(folder)
    if not folder.is_dir():
        raise FileNotFoundError(f"No such folder: {name}={str(folder)!r}")
    paths = sorted(
        p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in SUFFIXES
    )
    if not paths:
        raise ValueError(
            f"{name}={str(folder)!r} holds no {'/'.join(s[1:] for s in SUFFIXES)} file."
        )
    return paths
