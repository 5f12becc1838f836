"""Batched, batch-norm-folded inference on a set of images."""

import numpy as np
import tensorflow as tf

from keras_miyasawa import _validation
from keras_miyasawa.inference import _inference_model


def denoise_images(
    denoiser,
    images,
    batch_size=8,
    fold=True,
    jit_compile=False,
    precision=None,
    strategy=None,
):
    """Denoises images with a prepared copy of `denoiser`, in batches.

    Images of equal size are stacked into batches of `batch_size` (so a list
    of mixed sizes costs one batch per size, not one call per image). For a
    zoo network (`DnCNN`, `UNet`) every batch norm is first folded into the
    convolution before it (`keras_miyasawa.models.fold_batch_norm`), which
    gives the same outputs (to about 1e-6) with fewer layers. The forward pass
    is one `tf.function` (traced once, XLA-compiled with `jit_compile=True`),
    and the prepared model is cached per denoiser and options, so later calls
    neither refold nor retrace while the weights are unchanged.

    `precision="mixed_bfloat16"` runs a copy under that Keras dtype policy
    (float32 weights, bfloat16 activations; outputs are float32). It is faster
    where the CPU or GPU has bfloat16 units and costs a little PSNR
    (`benchmarks/inference_precision.py` measures how much).

    With several devices visible (GPUs, or logical CPUs when there is no GPU)
    the batches are split over a `tf.distribute.MirroredStrategy` of them,
    unless `strategy` is given or a strategy scope is active.

    Args:
        denoiser: a blind Keras model `y -> x_hat`.
        images: float images in [0, 1]: an array `(n, height, width,
            channels)` or `(height, width, channels)`, or a list of
            `(height, width, channels)` arrays of any sizes.
        batch_size: int, images per forward pass (over all devices).
            Defaults to `8`.
        fold: bool, fold batch norm into the convolutions first. Defaults to
            `True`; ignored for models other than `DnCNN` and `UNet`.
        jit_compile: bool, compile the forward pass with XLA. Defaults to
            `False`.
        precision: `None` or `"float32"` (the model's own), or
            `"mixed_bfloat16"` (zoo networks only).
        strategy: optional `tf.distribute.Strategy` to run under.

    Returns:
        float32 estimates shaped like `images`: an array for an array, a list
        of arrays for a list.

    Raises:
        TypeError: `denoiser` is not a Keras model, integer images.
        ValueError: an empty input, a wrong rank or channel count, a bad
            `batch_size` or `precision`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> model = km.models.DnCNN(depth=3, filters=8)
    >>> rng = np.random.default_rng(0)
    >>> y = [rng.uniform(size=s).astype("float32") for s in [(8, 8, 1), (6, 9, 1)]]
    >>> x_hat = km.inference.denoise_images(model, y, batch_size=4)
    >>> [image.shape for image in x_hat]
    [(8, 8, 1), (6, 9, 1)]
    >>> bool(np.allclose(x_hat[1], model(y[1][None])[0], atol=1e-5))
    True
    """
    precision = _inference_model.check_options(denoiser, batch_size, precision)
    as_list = isinstance(images, (list, tuple))
    if as_list:
        if not images:
            raise ValueError("images is empty. Received: images=[]")
        images = [np.asarray(image) for image in images]
        for i, image in enumerate(images):
            _validation.check_images(image, f"images[{i}]", rank=3)
    else:
        images = np.asarray(images)
        _validation.check_images(images, "images", rank=None)
        if images.ndim not in (3, 4):
            raise ValueError(
                "images must be (height, width, channels), (n, height, width, "
                "channels) or a list of images. Received: images with shape "
                f"{images.shape}"
            )
    single = not as_list and images.ndim == 3
    if single:
        images = images[None]
    channels = getattr(denoiser, "channels", None)
    for i, image in enumerate(images):
        if channels is not None and image.shape[-1] != channels:
            raise ValueError(
                f"images[{i}] has {image.shape[-1]} channel(s) but the denoiser "
                f"takes {channels}. Received: images[{i}] with shape {image.shape}"
            )
    strategy = strategy or _inference_model.default_strategy()
    runner = _inference_model.inference_model(
        denoiser, fold, jit_compile, precision, strategy
    )
    groups = {}
    for i, image in enumerate(images):
        groups.setdefault(image.shape, []).append(i)
    outputs = [None] * len(images)
    for indices in groups.values():
        stack = np.stack([np.asarray(images[i], np.float32) for i in indices])
        dataset = tf.data.Dataset.from_tensor_slices(
            (np.asarray(indices, np.int64), stack)
        ).batch(batch_size)
        for batch_indices, _, batch_outputs in runner.run(dataset):
            for i, output in zip(batch_indices, batch_outputs):
                outputs[int(i)] = output
    if as_list:
        return outputs
    stacked = np.stack(outputs)
    return stacked[0] if single else stacked
