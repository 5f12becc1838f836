"""A `tf.data` pipeline of whole images from files, batched by size."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_miyasawa import image_io


def image_folder_dataset(source, batch_size=1, channels=None, num_parallel_calls=None):
    """Reads image files in parallel and batches images of equal size.

    Files are decoded by `keras_miyasawa.image_io.read_image` (PNG, JPEG,
    TIFF, `.npy`; 8/16-bit scaled to [0, 1]) in parallel `tf.data` map calls,
    then grouped by (height, width) into batches of at most `batch_size`, so
    a folder of mixed sizes needs no padding or resizing. Batches come in the
    order their group fills up, not in file order; each element carries the
    file indices.

    Args:
        source: a folder (its image files, sorted by name) or a list of files.
        batch_size: int, images per batch. Defaults to `1`.
        channels: optional int; a file with another channel count is an error
            naming it.
        num_parallel_calls: files decoded at once. Defaults to
            `tf.data.AUTOTUNE`.

    Returns:
        `(dataset, paths)`: a `tf.data.Dataset` of `(index, images)` with
        `index` int64 `(batch,)` into `paths` and `images` float32
        `(batch, height, width, channels)`, and the list of `pathlib.Path`.

    Raises:
        FileNotFoundError: a missing folder or file.
        ValueError: a folder without image files, `batch_size < 1`. A file
            that cannot be read fails when the dataset is iterated
            (`tf.errors.InvalidArgumentError` carrying `read_image`'s message).

    Example:

    >>> import tempfile
    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> folder = tempfile.mkdtemp()
    >>> for i, size in enumerate([(4, 6), (5, 5), (4, 6)]):
    ...     _ = km.image_io.write_image(f"{folder}/{i}.png", np.zeros(size + (1,)))
    >>> dataset, paths = km.data.image_folder_dataset(folder, batch_size=2)
    >>> sorted(tuple(images.shape) for _, images in dataset)
    [(1, 5, 5, 1), (2, 4, 6, 1)]
    """
    if isinstance(source, (list, tuple)):
        paths = [Path(path) for path in source]
        if not paths:
            raise ValueError("source is an empty list of files. Received: source=[]")
        for path in paths:
            if not path.is_file():
                raise FileNotFoundError(f"No such file: {str(path)!r}")
    else:
        paths = image_io.list_images(source, name="source")
    if isinstance(batch_size, bool) or int(batch_size) != batch_size or batch_size < 1:
        raise ValueError(f"batch_size must be an int >= 1. Received: {batch_size!r}")
    batch_size = int(batch_size)

    def read(index):
        path = paths[int(index)]
        image = np.ascontiguousarray(image_io.read_image(path, name="file"))
        if channels is not None and image.shape[-1] != channels:
            raise ValueError(
                f"file={str(path)!r} has {image.shape[-1]} channel(s); expected "
                f"{channels}."
            )
        return image

    def load(index):
        image = tf.numpy_function(read, [index], tf.float32, stateful=False)
        image.set_shape([None, None, channels])
        return index, image

    def size_key(index, image):
        shape = tf.shape(image, out_type=tf.int64)
        return shape[0] * 2**31 + shape[1]

    dataset = (
        tf.data.Dataset.range(len(paths))
        .map(load, num_parallel_calls=num_parallel_calls or tf.data.AUTOTUNE)
        .group_by_window(
            size_key,
            lambda key, window: window.batch(batch_size),
            window_size=batch_size,
        )
        .prefetch(tf.data.AUTOTUNE)
    )
    return dataset, paths
