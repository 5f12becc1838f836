"""Noise-augmented `tf.data` pipelines of `(noisy, clean)` patches for `fit`."""

import math
import os
from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_miyasawa import _validation

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg")
COLOR_MODES = (None, "grayscale", "rgb")
_GRAY_PIL_MODES = ("1", "L", "LA", "I", "I;16", "I;16B", "I;16L", "F")


def denoising_dataset(
    source,
    patch_size=40,
    sigma_range=(0.0, 55.0 / 255.0),
    batch_size=64,
    seed=None,
    *,
    color_mode=None,
    augment=True,
    patches_per_image=1,
    repeat=True,
    start_step=0,
    shuffle_buffer=0,
    split="train",
    data_dir=None,
    download=False,
    image_key="image",
    num_parallel_calls=tf.data.AUTOTUNE,
):
    """A `tf.data.Dataset` of `(noisy, clean)` float32 NHWC batches for `fit`.

    Each example is a random `patch_size` x `patch_size` crop of a source
    image, optionally flipped/rotated (one of the 8 symmetries of the square),
    with its own noise level drawn uniformly from `sigma_range`:
    `noisy = clean + sigma * z`, `z ~ N(0, I)`, not clipped (Miyasawa's
    identity holds for unclipped Gaussian noise). Everything runs in
    `tf.data` (parallel map, prefetch).

    Determinism: every random choice is a stateless op seeded by
    `(seed, example index)`, so the same `seed` gives the same batches in any
    process, and `start_step=k` yields exactly the batches from the `k`-th on
    (used to resume training). Folder and array sources are visited in a
    seeded permutation per pass (sampling without replacement); dataset and
    TFDS sources are read in their own order, optionally through a seeded
    `shuffle_buffer` (then also subject to TensorFlow's global seed, as every
    `tf.data` shuffle).

    Args:
        source: one of: a folder of PNG/JPEG images (`str` or `pathlib.Path`;
            sub-folders are not searched); a NumPy array of images, shape
            `(n, h, w)` or `(n, h, w, c)`, `uint8` (0-255), `uint16` or float in
            [0, 1]; a `tf.data.Dataset` of images (or of dicts holding one under
            `image_key`, or tuples whose first item is the image); or the name
            of a TensorFlow Datasets dataset (any string that is not an
            existing folder), e.g. `"div2k"`.
        patch_size: int, the side of the square patches. Defaults to `40`.
        sigma_range: `(sigma_min, sigma_max)` in [0, 1] image units (25/255 for
            "sigma 25"), `0 <= sigma_min <= sigma_max <= 1`. Defaults to
            `(0, 55/255)`.
        batch_size: int, examples per batch. Defaults to `64`.
        seed: int, the seed of every random choice. Defaults to a random seed.
        color_mode: `"grayscale"` (1 channel), `"rgb"` (3 channels) or `None`
            to keep the source's channel count (an error for a folder mixing
            gray and colour images). RGB to gray uses the ITU-R 601 luma
            weights; an alpha channel is dropped.
        augment: bool, random flips and 90-degree rotations. Defaults to `True`.
        patches_per_image: int, patches cut from each image visit (fewer image
            decodes for large images). Defaults to `1`.
        repeat: bool, an endless dataset (pass `steps_per_epoch` to `fit`);
            `False` gives one pass over the images. Defaults to `True`.
        start_step: int, the number of batches to skip (resume). Defaults to
            `0`. Requires `repeat=True` when non-zero.
        shuffle_buffer: int, a seeded shuffle buffer for dataset and TFDS
            sources (0: keep their order). Defaults to `0`.
        split: the TFDS split. Defaults to `"train"`.
        data_dir: the TFDS data directory. Defaults to TFDS's default.
        download: bool, let TFDS download and prepare the dataset if it is not
            in `data_dir`. Defaults to `False` (never download).
        image_key: the image feature of a TFDS / dict dataset. Defaults to
            `"image"`.
        num_parallel_calls: parallelism of the map. Defaults to autotune.

    Returns:
        A `tf.data.Dataset` of `(noisy, clean)`, each float32 of shape
        `(batch_size, patch_size, patch_size, channels)`.

    Raises:
        ValueError: a bad argument (the message names it and the received
            value), an empty folder, an unreadable image file (named) or an
            image smaller than `patch_size` (named). For dataset / TFDS
            sources, images smaller than the patch raise
            `tf.errors.InvalidArgumentError` when iterated.
        TypeError: a source of an unsupported type.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> images = np.random.default_rng(0).uniform(size=(8, 32, 32, 1))
    >>> dataset = km.data.denoising_dataset(
    ...     images, patch_size=16, sigma_range=(0, 50 / 255), batch_size=4, seed=1
    ... )
    >>> noisy, clean = next(iter(dataset))
    >>> noisy.shape, clean.shape
    (TensorShape([4, 16, 16, 1]), TensorShape([4, 16, 16, 1]))
    """
    patch_size = _validation.check_positive_int(patch_size, "patch_size")
    batch_size = _validation.check_positive_int(batch_size, "batch_size")
    patches_per_image = _validation.check_positive_int(
        patches_per_image, "patches_per_image"
    )
    start_step = _validation.check_positive_int(start_step, "start_step", minimum=0)
    shuffle_buffer = _validation.check_positive_int(
        shuffle_buffer, "shuffle_buffer", minimum=0
    )
    sigma_min, sigma_max = check_sigma_range(sigma_range)
    _validation.check_choice(color_mode, "color_mode", COLOR_MODES)
    if start_step and not repeat:
        raise ValueError(
            "start_step needs repeat=True (a one-pass dataset is not resumed). "
            f"Received: start_step={start_step}, repeat={repeat}"
        )
    if seed is None:
        seed = int(np.random.SeedSequence().entropy % (2**31))
    elif isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ValueError(f"seed must be an int or None. Received: seed={seed!r}")
    seed = int(seed)

    if isinstance(source, tf.data.Dataset):
        images = _images_from_dataset(source, image_key, "source")
        return _finish(
            _stream_visits(images, shuffle_buffer, seed, repeat),
            **_common(locals()),
            source_name="source",
        )
    if isinstance(source, np.ndarray) or tf.is_tensor(source):
        loader, count, channels = _array_loader(source, patch_size)
    elif isinstance(source, (str, os.PathLike)):
        if isinstance(source, os.PathLike) or os.path.isdir(source):
            loader, count, channels = _folder_loader(source, patch_size, color_mode)
        else:
            images = _images_from_tfds(source, split, data_dir, download, image_key)
            return _finish(
                _stream_visits(images, shuffle_buffer, seed, repeat),
                **_common(locals()),
                source_name=f"the TFDS dataset {source!r}",
            )
    else:
        raise TypeError(
            "source must be a folder path, a NumPy array, a tf.data.Dataset or a "
            f"TFDS name. Received: source of type {type(source).__name__}"
        )
    visits = _random_access_visits(loader, count, channels, seed, repeat)
    return _finish(visits, **_common(locals()), source_name="source")


def check_sigma_range(sigma_range, name="sigma_range"):
    """Validates `(sigma_min, sigma_max)` in [0, 1] units; returns two floats.

    Raises:
        ValueError: not a pair of finite numbers with
            `0 <= sigma_min <= sigma_max <= 1`.
    """
    try:
        low, high = (float(s) for s in sigma_range)
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a pair (sigma_min, sigma_max). "
            f"Received: {name}={sigma_range!r}"
        ) from None
    if not (math.isfinite(low) and math.isfinite(high) and 0.0 <= low <= high):
        raise ValueError(
            f"{name} must satisfy 0 <= sigma_min <= sigma_max, both finite. "
            f"Received: {name}={sigma_range!r}"
        )
    if high > 1.0:
        raise ValueError(
            f"{name} is in [0, 1] image units (25/255 for 'sigma 25'), so "
            f"sigma_max must be <= 1. Received: {name}={sigma_range!r}"
        )
    return low, high


def _common(scope):
    keys = (
        "patch_size",
        "sigma_min",
        "sigma_max",
        "batch_size",
        "seed",
        "color_mode",
        "augment",
        "patches_per_image",
        "repeat",
        "start_step",
        "num_parallel_calls",
    )
    return {k: scope[k] for k in keys}


def _to_float(image):
    """uint8 / uint16 / float image of rank 2 or 3 -> float32 HWC in [0, 1]."""
    if image.dtype in (tf.uint8, tf.uint16):
        image = tf.image.convert_image_dtype(image, tf.float32)
    elif image.dtype.is_floating:
        image = tf.cast(image, tf.float32)
    else:
        raise ValueError(
            "images must be uint8, uint16 or float in [0, 1]. Received: images "
            f"with dtype {image.dtype.name}"
        )
    if image.shape.rank == 2:
        image = image[..., tf.newaxis]
    return image


def _convert_channels(image, color_mode):
    channels = image.shape[-1]
    if channels is None:
        if color_mode is None:
            return image
        raise ValueError(
            "the channel count of the source images must be known to convert "
            f"them. Received: images with shape {image.shape}, "
            f"color_mode={color_mode!r}"
        )
    if channels in (2, 4):  # Drop alpha.
        image = image[..., : channels - 1]
        channels -= 1
    if color_mode == "grayscale" and channels == 3:
        return tf.image.rgb_to_grayscale(image)
    if color_mode == "rgb" and channels == 1:
        return tf.image.grayscale_to_rgb(image)
    return image


def _random_access_visits(loader, count, channels, seed, repeat):
    """Visit v reads image perm_{v // count}(v % count): a new permutation per pass."""
    visits = tf.data.Dataset.range(tf.int64.max if repeat else count)
    count64 = tf.constant(count, tf.int64)

    def load(visit):
        epoch, position = visit // count64, visit % count64
        index = tf.random.experimental.index_shuffle(
            position, tf.stack([tf.constant(seed, tf.int64), epoch]), count64 - 1
        )
        return visit, loader(index)

    return visits.map(load, num_parallel_calls=tf.data.AUTOTUNE)


def _stream_visits(images, shuffle_buffer, seed, repeat):
    if shuffle_buffer:
        images = images.shuffle(shuffle_buffer, seed=seed)
    if repeat:
        images = images.repeat()
    return images.enumerate()


def _finish(
    visits,
    patch_size,
    sigma_min,
    sigma_max,
    batch_size,
    seed,
    color_mode,
    augment,
    patches_per_image,
    repeat,
    start_step,
    num_parallel_calls,
    source_name,
):
    start_example = start_step * batch_size
    visits = visits.skip(start_example // patches_per_image)
    base_seed = tf.constant([seed, 0x4D495941], tf.int64)  # "MIYA"

    def make_patches(visit, image):
        image = _convert_channels(_to_float(image), color_mode)
        shape = tf.shape(image)
        tf.debugging.assert_greater_equal(
            tf.minimum(shape[0], shape[1]),
            patch_size,
            message=(
                f"an image of {source_name} is smaller than the patch: "
                f"patch_size={patch_size}"
            ),
        )
        channels = image.shape[-1] if image.shape[-1] is not None else shape[-1]
        image_seed = tf.random.experimental.stateless_fold_in(base_seed, visit)
        noisy, clean = [], []
        for j in range(patches_per_image):
            seeds = tf.random.experimental.stateless_split(
                tf.random.experimental.stateless_fold_in(image_seed, j), num=5
            )
            patch = tf.image.stateless_random_crop(
                image, tf.stack([patch_size, patch_size, channels]), seeds[0]
            )
            if augment:
                # One of the 8 symmetries of the square: a flip, then 0-3 quarter turns.
                turns = tf.random.stateless_uniform(
                    [], seeds[1], minval=0, maxval=4, dtype=tf.int32
                )
                patch = tf.image.stateless_random_flip_left_right(patch, seeds[2])
                patch = tf.image.rot90(patch, turns)
            sigma = tf.random.stateless_uniform(
                [], seeds[3], minval=sigma_min, maxval=sigma_max
            )
            noise = tf.random.stateless_normal(tf.shape(patch), seeds[4])
            clean.append(patch)
            noisy.append(patch + sigma * noise)
        return tf.stack(noisy), tf.stack(clean)

    examples = visits.map(make_patches, num_parallel_calls=num_parallel_calls).unbatch()
    examples = examples.skip(start_example % patches_per_image)
    batches = examples.batch(batch_size, drop_remainder=repeat)
    return batches.prefetch(tf.data.AUTOTUNE)


def _array_loader(array, patch_size):
    array = tf.convert_to_tensor(array)
    if array.shape.rank == 3:
        array = array[..., tf.newaxis]
    if array.shape.rank != 4 or array.shape[0] == 0:
        raise ValueError(
            "an array source must be a non-empty batch of images of shape (n, h, w) "
            f"or (n, h, w, c). Received: source with shape {tuple(array.shape)}"
        )
    if min(array.shape[1], array.shape[2]) < patch_size:
        raise ValueError(
            f"the images of source ({array.shape[1]}x{array.shape[2]}) are smaller "
            f"than the patch. Received: patch_size={patch_size}"
        )
    _to_float(array[:1])  # Checks the dtype now rather than when iterating.
    return (lambda index: tf.gather(array, index)), int(array.shape[0]), None


def _folder_loader(folder, patch_size, color_mode):
    from PIL import Image

    folder = Path(folder).expanduser()
    if not folder.is_dir():
        raise ValueError(f"source is not a folder. Received: source={str(folder)!r}")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_EXTENSIONS)
    if not paths:
        raise ValueError(
            f"the folder {str(folder)!r} holds no {'/'.join(IMAGE_EXTENSIONS)} "
            "images (sub-folders are not searched). Received: "
            f"source={str(folder)!r}"
        )
    modes = set()
    for path in paths:
        try:
            with Image.open(path) as image:
                image.verify()
                width, height = image.size
                modes.add(1 if image.mode in _GRAY_PIL_MODES else 3)
        except Exception as error:
            raise ValueError(
                f"cannot read the image file {str(path)!r}: {error}"
            ) from None
        if min(width, height) < patch_size:
            raise ValueError(
                f"the image {str(path)!r} ({width}x{height}) is smaller than the "
                f"patch. Received: patch_size={patch_size}"
            )
    if color_mode is None and len(modes) > 1:
        raise ValueError(
            f"the folder {str(folder)!r} mixes grayscale and colour images; pass "
            "color_mode='grayscale' or 'rgb'. Received: color_mode=None"
        )
    channels = {"grayscale": 1, "rgb": 3, None: modes.pop()}[color_mode]
    files = tf.constant([str(p) for p in paths])

    def load(index):
        image = tf.io.decode_image(
            tf.io.read_file(tf.gather(files, index)),
            channels=channels,
            dtype=tf.float32,
            expand_animations=False,
        )
        image.set_shape([None, None, channels])
        return image

    return load, len(paths), channels


def _images_from_dataset(dataset, image_key, name):
    spec = dataset.element_spec
    if isinstance(spec, dict):
        if image_key not in spec:
            raise ValueError(
                f"the elements of {name} are dicts without the key image_key. "
                f"Received: image_key={image_key!r}, keys {sorted(spec)}"
            )
        return dataset.map(lambda element: element[image_key])
    if isinstance(spec, tuple):
        return dataset.map(lambda *element: element[0])
    if not isinstance(spec, tf.TensorSpec) or spec.shape.rank not in (None, 2, 3):
        raise ValueError(
            f"{name} must yield images of rank 2 or 3 (h, w[, c]). Received: "
            f"element_spec={spec}"
        )
    return dataset


def _images_from_tfds(name, split, data_dir, download, image_key):
    import tensorflow_datasets as tfds

    try:
        dataset = tfds.load(
            name, split=split, data_dir=data_dir, download=download, shuffle_files=False
        )
    except (tfds.core.registered.DatasetNotFoundError, AssertionError) as error:
        raise ValueError(
            f"source is neither an existing folder nor an available TFDS dataset "
            f"(download={download}, data_dir={data_dir!r}). Received: "
            f"source={name!r}. {error}"
        ) from None
    return _images_from_dataset(dataset, image_key, f"the TFDS dataset {name!r}")
