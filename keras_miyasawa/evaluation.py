"""Denoising quality on a folder of images: the PSNR / SSIM tables of presets.

The protocol of the published tables (Zhang et al. 2017, Mohan et al. 2020):
every clean image x in [0, 1] gets Gaussian noise of std sigma/255 drawn from a
NumPy generator seeded by `(seed, int(sigma))`, the denoiser maps
y = x + noise (not clipped) to x_hat, x_hat is clipped to [0, 1], and the
per-image PSNR 10 log10(1 / MSE) (and SSIM) is averaged over the images.
`benchmarks/reference_psnr.py` and `keras-miyasawa evaluate` both use it.
"""

import numpy as np

from keras_miyasawa import image_io
from keras_miyasawa.metrics import image_psnr

DEFAULT_SIGMAS = (15, 25, 50)


def load_images(folder, channels=None, name="data"):
    """Loads every image of a folder as a float32 `(1, h, w, c)` array in [0, 1].

    Args:
        folder: a folder of PNG/JPEG/TIFF/`.npy` images.
        channels: optional 1 or 3; images with another channel count are an
            error (no silent colour conversion).
        name: the name used for `folder` in error messages.

    Returns:
        A list of arrays, in file-name order.

    Raises:
        FileNotFoundError: `folder` is not a folder.
        ValueError: no image in it, an unreadable image, or a wrong channel
            count.
    """
    images = []
    for path in image_io.list_images(folder, name):
        image = np.array(image_io.read_image(path, name), np.float32)
        if channels is not None and image.shape[-1] != channels:
            raise ValueError(
                f"{path.name} in {name}={str(folder)!r} has {image.shape[-1]} "
                f"channel(s); the denoiser expects {channels}."
            )
        images.append(image[None])
    return images


def evaluate_denoiser(
    denoiser,
    images,
    sigmas=DEFAULT_SIGMAS,
    seed=0,
    ssim=True,
    tile=None,
    progress=None,
):
    """Mean PSNR (and SSIM) of a blind denoiser on clean images per noise level.

    Args:
        denoiser: a Keras model (called with `training=False`) or a callable
            `y -> x_hat` on float `(1, h, w, c)` batches.
        images: clean float images in [0, 1], each `(1, h, w, c)` (or
            `(h, w, c)`), e.g. from `load_images`.
        sigmas: noise standard deviations in 0-255 units. Defaults to
            `(15, 25, 50)`.
        seed: int, the noise seed. Defaults to `0`.
        ssim: bool, also measure SSIM (`tf.image.ssim`, 11x11 Gaussian window).
            Defaults to `True`.
        tile: optional int; denoise in tiles of this size with
            `keras_miyasawa.tiling.denoise_tiled` (equal results, bounded
            memory).
        progress: optional callable `progress(done, total)` called after each
            denoised image.

    Returns:
        A dict `{sigma: {"psnr": dB, "input_psnr": dB, "ssim": float}}` of
        means over the images (`"ssim"` only when `ssim=True`); `input_psnr`
        is the PSNR of the noisy image clipped to [0, 1].

    Raises:
        ValueError: no images, or a sigma outside (0, 255].

    Example:

    >>> import numpy as np
    >>> from keras_miyasawa import evaluation
    >>> images = [np.full((1, 16, 16, 1), 0.5, "float32")]
    >>> table = evaluation.evaluate_denoiser(lambda y: 0.0 * y + 0.5, images, [25])
    >>> table[25]["psnr"], round(table[25]["ssim"], 3)
    (inf, 1.0)
    """
    import tensorflow as tf

    from keras_miyasawa.miyasawa import as_denoise_fn
    from keras_miyasawa.tiling import denoise_tiled

    if not len(images):
        raise ValueError("images is empty. Received: images=[]")
    sigmas = [check_sigma_255(s, "sigmas") for s in np.atleast_1d(sigmas)]
    fn, _ = as_denoise_fn(denoiser)
    total, done = len(sigmas) * len(images), 0
    table = {}
    for sigma in sigmas:
        rng = np.random.default_rng([seed, int(sigma)])
        values = {"psnr": [], "input_psnr": [], "ssim": []}
        for x in images:
            x = np.asarray(x, np.float32)
            x = x[None] if x.ndim == 3 else x
            y = x + rng.standard_normal(x.shape).astype("float32") * (sigma / 255.0)
            if tile:
                x_hat = denoise_tiled(denoiser, y, tile=tile)
            else:
                x_hat = np.asarray(fn(y, None))
            x_hat = np.clip(x_hat, 0.0, 1.0)
            with np.errstate(divide="ignore"):
                values["psnr"].append(image_psnr(x, x_hat))
                values["input_psnr"].append(image_psnr(x, np.clip(y, 0.0, 1.0)))
            if ssim:
                values["ssim"].append(float(tf.image.ssim(x_hat, x, max_val=1.0)[0]))
            done += 1
            if progress is not None:
                progress(done, total)
        table[sigma] = {
            key: float(np.mean(value)) for key, value in values.items() if value
        }
    return table


def check_sigma_255(sigma, name="sigma"):
    """A noise level in 0-255 units: a number in (0, 255]; ints stay ints.

    Raises:
        ValueError: not a number, or outside (0, 255].
    """
    try:
        value = float(sigma)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a number in (0, 255] (0-255 units). "
            f"Received: {name}={sigma!r}"
        ) from None
    if not 0.0 < value <= 255.0:
        raise ValueError(
            f"{name} must be in (0, 255] (0-255 units, 25 means 25/255). "
            f"Received: {name}={sigma!r}"
        )
    return int(value) if value.is_integer() else value
