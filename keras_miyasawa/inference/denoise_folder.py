"""Denoising every image file of a folder through a `tf.data` pipeline."""

from pathlib import Path

import numpy as np
import tensorflow as tf

from keras_miyasawa import image_io
from keras_miyasawa.data.image_folder_dataset import image_folder_dataset
from keras_miyasawa.inference import _inference_model
from keras_miyasawa.metrics import image_psnr


def _output_paths(paths, output_dir, suffix, overwrite):
    if suffix is not None:
        suffix = suffix if suffix.startswith(".") else f".{suffix}"
        if suffix.lower() not in image_io.SUFFIXES:
            raise ValueError(
                f"suffix must be one of {image_io.SUFFIXES}. Received: "
                f"suffix={suffix!r}"
            )
    outputs = [output_dir / (path.stem + (suffix or path.suffix)) for path in paths]
    if len(set(outputs)) != len(outputs):
        raise ValueError(
            "Two input files would write the same output (same name, different "
            "suffix); pass suffix= to tell them apart or rename them."
        )
    if not overwrite:
        existing = [path for path in outputs if path.exists()]
        if existing:
            raise FileExistsError(
                f"{len(existing)} output file(s) already exist, e.g. "
                f"{str(existing[0])!r}; pass --overwrite (overwrite=True) to "
                "replace them."
            )
    return outputs


def _check_channels(paths, channels):
    """A named error for a file of the wrong channel count, before any work."""
    if channels is None:
        return
    for path in paths:
        found = image_io.image_channels(path, name="file")
        if found != channels:
            raise ValueError(
                f"file={str(path)!r} has {found} channel(s) but the denoiser "
                f"takes {channels}."
            )


def _first_read_error(paths):
    """The clean error of the first unreadable file (the pipeline's is wrapped)."""
    for path in paths:
        try:
            image_io.read_image(path, name="file")
        except ValueError as error:
            return error
    return None


def denoise_folder(
    denoiser,
    input_dir,
    output_dir,
    batch_size=8,
    fold=True,
    jit_compile=False,
    precision=None,
    add_noise=None,
    seed=0,
    suffix=None,
    overwrite=False,
    strategy=None,
    progress=None,
):
    """Denoises every image file of a folder into another folder.

    Files (PNG, JPEG, TIFF, `.npy`) are decoded in parallel by a `tf.data`
    pipeline (`keras_miyasawa.data.image_folder_dataset`), images of equal
    size are batched together, and the denoiser runs as in
    `keras_miyasawa.inference.denoise_images` (batch norm folded, optional XLA
    and bfloat16, several devices through a `tf.distribute` strategy). Each
    estimate is written to `output_dir` under the input's name through a
    temporary file renamed when complete; all output names are checked before
    any work, and existing files are replaced only with `overwrite=True`.

    Args:
        denoiser: a blind Keras model `y -> x_hat`.
        input_dir: the folder of images (not searched recursively).
        output_dir: the folder to write to; created if missing. Must differ
            from `input_dir`.
        batch_size: int, images per forward pass. Defaults to `8`.
        fold: bool, fold batch norm first. Defaults to `True`.
        jit_compile: bool, compile with XLA. Defaults to `False`.
        precision: `None`/`"float32"` or `"mixed_bfloat16"`.
        add_noise: optional noise std (in [0, 1] units, e.g. `25 / 255`)
            added to every image first; PSNRs against the file are reported.
        seed: int, the seed of `add_noise`; image `i` gets the noise of seed
            `(seed, i)`, whatever the batching. Defaults to `0`.
        suffix: optional output format, e.g. `".npy"` or `".png"`; defaults
            to each input's suffix. Image formats are clipped and 8-bit.
        overwrite: replace existing outputs. Defaults to `False`.
        strategy: optional `tf.distribute.Strategy` to run under.
        progress: optional callable `progress(done, total)` called after each
            batch with the number of images written so far.

    Returns:
        A list (in file-name order) of one dict per image: `input`, `output`,
        `shape`, `sigma_hat` (the RMS of `x_hat - y`, an estimate of the noise
        level) and, with `add_noise`, `noisy_psnr` and `psnr` in dB (estimate
        clipped to [0, 1]).

    Raises:
        FileNotFoundError: a missing input folder.
        FileExistsError: an output exists and `overwrite` is `False`.
        ValueError: a folder without images, an unreadable file or one with the
            wrong number of channels (named; channel counts and unreadable
            headers are checked before anything is written), bad options.

    Example:

    >>> import tempfile
    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> folder, out = tempfile.mkdtemp(), tempfile.mkdtemp()
    >>> for i in range(3):
    ...     _ = km.image_io.write_image(f"{folder}/{i}.png", np.zeros((8, 8, 1)))
    >>> model = km.models.DnCNN(depth=3, filters=8)
    >>> report = km.inference.denoise_folder(model, folder, out, add_noise=0.1)
    >>> [row["output"][-5:] for row in report]
    ['0.png', '1.png', '2.png']
    """
    precision = _inference_model.check_options(denoiser, batch_size, precision)
    if add_noise is not None and not (np.isfinite(add_noise) and add_noise > 0):
        raise ValueError(f"add_noise must be positive. Received: add_noise={add_noise}")
    input_dir, output_dir = Path(input_dir), Path(output_dir)
    channels = getattr(denoiser, "channels", None)
    dataset, paths = image_folder_dataset(input_dir, batch_size, channels=channels)
    if output_dir.exists() and output_dir.resolve() == input_dir.resolve():
        raise ValueError(
            "output_dir must differ from input_dir (the inputs would be "
            f"replaced). Received: output_dir={str(output_dir)!r}"
        )
    outputs = _output_paths(paths, output_dir, suffix, overwrite)
    _check_channels(paths, channels)
    output_dir.mkdir(parents=True, exist_ok=True)

    if add_noise is not None:
        sigma = np.float32(add_noise)

        def noisy(index, clean):
            noise = tf.map_fn(
                lambda i: tf.random.stateless_normal(
                    tf.shape(clean)[1:], tf.stack([tf.cast(seed, tf.int64), i])
                ),
                index,
                fn_output_signature=tf.float32,
            )
            return index, clean + sigma * noise, clean

        dataset = dataset.map(noisy)

    strategy = strategy or _inference_model.default_strategy()
    runner = _inference_model.inference_model(
        denoiser, fold, jit_compile, precision, strategy
    )
    report = [None] * len(paths)
    try:
        for index, y, x_hat, *clean in runner.run(dataset):
            for j, i in enumerate(int(i) for i in index):
                image_io.write_image(outputs[i], x_hat[j], overwrite=overwrite)
                residual = np.asarray(x_hat[j], np.float64) - y[j]
                row = {
                    "input": str(paths[i]),
                    "output": str(outputs[i]),
                    "shape": list(y[j].shape),
                    "sigma_hat": float(np.sqrt(np.mean(residual**2))),
                }
                if clean:
                    target = clean[0][j]
                    row["noisy_psnr"] = image_psnr(target, np.clip(y[j], 0.0, 1.0))
                    row["psnr"] = image_psnr(target, np.clip(x_hat[j], 0.0, 1.0))
                report[i] = row
            if progress is not None:
                progress(sum(row is not None for row in report), len(paths))
    except tf.errors.OpError as error:
        # A file failed to decode inside the pipeline: name it plainly.
        clean_error = _first_read_error(
            [p for p, row in zip(paths, report) if row is None]
        )
        raise (clean_error or error) from None
    return report
