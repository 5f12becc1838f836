"""Denoising large images in overlapping tiles, with bounded memory.

A convolutional denoiser's output at a pixel depends only on the input within
its receptive field. Each tile is denoised with `overlap` extra pixels of
context on every side and only its core is kept, so when `overlap` covers the
receptive-field radius the stitched result equals denoising the whole image at
once (to float rounding), while memory grows with `tile * tile * batch_size`
instead of the image size.
"""

import keras
import numpy as np

from keras_miyasawa import _validation
from keras_miyasawa.miyasawa import as_denoise_fn


def receptive_field_radius(denoiser):
    """How far (in pixels) the output of a zoo network looks into its input.

    The overlap of `denoise_tiled` must be at least this for tiled and whole
    image results to agree. Known for `DnCNN` (`depth * (kernel_size // 2)`)
    and `UNet` (a bound from its layers); `None` for other denoisers.

    Args:
        denoiser: a denoiser.

    Returns:
        An int, or `None` when unknown.

    Example:

    >>> import keras_miyasawa as km
    >>> km.tiling.receptive_field_radius(km.models.DnCNN(depth=3, filters=4))
    3
    """
    config = getattr(denoiser, "get_config", lambda: {})()
    if "depth" in config and "kernel_size" in config:
        return int(config["depth"]) * (int(config["kernel_size"]) // 2)
    if "levels" in config:
        levels = int(config["levels"])
        # 5x5 + 3x3 at full resolution (in and out), per level a stride-2 conv,
        # a 3x3 conv, a 4x4 transposed conv and a 3x3 conv, dilated 2 and 4 at
        # the bottom (each at 2**levels times the pixel size).
        radius = 2 * (2 + 1)
        for level in range(1, levels + 1):
            radius += 2 ** (level - 1) * (1 + 2 + 2) + 2 ** (level - 1)
        radius += 2**levels * (2 + 4)
        return radius
    return None


def _alignment(denoiser):
    """Tiles must start on the downsampling grid of a multi-scale network."""
    config = getattr(denoiser, "get_config", lambda: {})()
    return 2 ** int(config.get("levels", 0))


def _spans(length, step, overlap):
    """(input start, input stop, core start, core stop) along one axis."""
    spans = []
    for core_start in range(0, length, step):
        core_stop = min(length, core_start + step)
        start = max(0, core_start - overlap)
        stop = min(length, core_stop + overlap)
        spans.append((start, stop, core_start, core_stop))
    return spans


def _step(tile, overlap, alignment):
    step = (tile - 2 * overlap) // alignment * alignment
    if step < 1:
        raise ValueError(
            "tile must exceed 2 * overlap (rounded to the network's downsampling "
            f"factor {alignment}). Received: tile={tile}, overlap={overlap}"
        )
    return step


def denoise_tiled(
    denoiser,
    image,
    tile=256,
    overlap=32,
    batch_size=4,
    sigma=None,
    progress=None,
):
    """Denoises one large image (or a batch) tile by tile.

    The image is cut into a grid of cores of `tile - 2 * overlap` pixels; each
    core is denoised inside a window with `overlap` pixels of context on every
    side (clipped at the image border, where the network sees the same zero
    padding as on the whole image) and written to the output. Windows of equal
    shape are batched `batch_size` at a time. With `overlap` at least
    `receptive_field_radius(denoiser)` the result equals `denoiser(image)` to
    float rounding; for a UNet the windows also start on its downsampling grid.
    Peak memory is about `batch_size * tile**2 * width * 4` bytes for a network
    of hidden width `width`, plus the input and output images.

    Args:
        denoiser: a blind denoiser (a Keras model, called with
            `training=False`, or a callable `y -> x_hat`), or a
            noise-conditional one `(y, sigma) -> x_hat` with `sigma` given.
        image: float image `(height, width, channels)` or batch
            `(n, height, width, channels)` in [0, 1]; a NumPy array or
            memory map (read one window at a time).
        tile: int, the window size in pixels. Defaults to `256`.
        overlap: int, the context kept on each side. Defaults to `32`, which
            covers the 20-pixel receptive-field radius of a 20-layer DnCNN.
        batch_size: int, windows per call of the denoiser. Defaults to `4`.
        sigma: optional noise level for a noise-conditional denoiser.
        progress: optional callable `progress(done, total)` called after each
            batch with the number of windows denoised so far.

    Returns:
        A float32 NumPy array shaped like `image`.

    Raises:
        TypeError: integer images.
        ValueError: wrong rank, `tile <= 2 * overlap`, negative `overlap`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> model = km.models.DnCNN(depth=3, filters=4)
    >>> y = np.random.default_rng(0).uniform(size=(40, 50, 1)).astype("float32")
    >>> tiled = km.tiling.denoise_tiled(model, y, tile=16, overlap=4)
    >>> whole = np.asarray(model(y[None]))[0]
    >>> bool(np.abs(tiled - whole).max() < 1e-5)
    True
    """
    _validation.check_images(image, "image", rank=None)
    if len(image.shape) not in (3, 4):
        raise ValueError(
            "image must be (height, width, channels) or (n, height, width, "
            f"channels). Received: image with shape {tuple(image.shape)}"
        )
    _validation.check_positive_int(tile, "tile")
    _validation.check_positive_int(overlap, "overlap", minimum=0)
    _validation.check_positive_int(batch_size, "batch_size")
    fn, conditional = as_denoise_fn(denoiser)
    if isinstance(denoiser, keras.Model) and not conditional:
        # A compiled forward pass frees each activation after its last use; an
        # eager functional call keeps them all until it returns (4.5 GB instead
        # of about 1 GB for a 20-layer DnCNN on 4 tiles of 256^2).
        def fn(y, sigma):
            return denoiser.predict_on_batch(y)

    if conditional and sigma is None:
        raise ValueError(
            "a noise-conditional denoiser needs sigma. Received: sigma=None"
        )
    alignment = _alignment(denoiser)
    overlap = -(-overlap // alignment) * alignment
    step = _step(tile, overlap, alignment)

    single = len(image.shape) == 3
    batch = image[None] if single else image
    n, height, width, channels = (int(d) for d in batch.shape)
    output = np.empty((n, height, width, channels), np.float32)
    windows = [
        (i, rows, cols)
        for i in range(n)
        for rows in _spans(height, step, overlap)
        for cols in _spans(width, step, overlap)
    ]
    # Equal window shapes share a batch (and, in graph mode, a trace).
    groups = {}
    for window in windows:
        _, rows, cols = window
        groups.setdefault((rows[1] - rows[0], cols[1] - cols[0]), []).append(window)
    batches = [
        group[first : first + batch_size]
        for group in groups.values()
        for first in range(0, len(group), batch_size)
    ]
    done = 0
    for group in batches:
        inputs = np.stack(
            [
                np.asarray(batch[i, rows[0] : rows[1], cols[0] : cols[1]], np.float32)
                for i, rows, cols in group
            ]
        )
        outputs = np.asarray(fn(inputs, sigma))
        for out, (i, rows, cols) in zip(outputs, group):
            output[i, rows[2] : rows[3], cols[2] : cols[3]] = out[
                rows[2] - rows[0] : rows[3] - rows[0],
                cols[2] - cols[0] : cols[3] - cols[0],
            ]
        done += len(group)
        if progress is not None:
            progress(done, len(windows))
    return output[0] if single else output
