"""Helpers shared by the callbacks: fixed noisy validation sets, labels, events."""

import io

import numpy as np
import tensorflow as tf

from keras_miyasawa import _validation


def check_validation_images(images, name="validation_data"):
    """Clean float images `(n, h, w, c)` in [0, 1] as a float32 tensor."""
    _validation.check_images(images, name)
    return tf.cast(tf.convert_to_tensor(images), tf.float32)


def check_sigmas(sigmas, name="sigmas"):
    """A non-empty tuple of floats in (0, 1] ([0, 1] image units)."""
    try:
        values = tuple(float(s) for s in np.atleast_1d(np.asarray(sigmas)))
    except (TypeError, ValueError):
        raise ValueError(
            f"{name} must be a list of noise levels. Received: {name}={sigmas!r}"
        ) from None
    _validation.check_sigma(values, name)
    if max(values) > 1.0:
        raise ValueError(
            f"{name} are in [0, 1] image units (25/255 for 'sigma 25'). "
            f"Received: {name}={sigmas!r}"
        )
    return values


def sigma_label(sigma):
    """`25/255 -> "25"`: the 0-255 noise level as it appears in metric names."""
    return f"{sigma * 255.0:.4g}"


def noisy_copies(clean, sigmas, seed):
    """One fixed noisy copy of `clean` per sigma (stateless, seeded)."""
    return [
        clean
        + sigma
        * tf.random.stateless_normal(tf.shape(clean), seed=[seed, i], dtype=clean.dtype)
        for i, sigma in enumerate(sigmas)
    ]


def check_frequency(frequency, name="frequency"):
    return _validation.check_positive_int(frequency, name)


def _png_strings(images):
    """float images in [0, 1] -> the TensorBoard image-plugin string tensor."""
    images = tf.image.convert_image_dtype(
        tf.clip_by_value(images, 0.0, 1.0), tf.uint8, saturate=True
    )
    height, width = int(images.shape[1]), int(images.shape[2])
    encoded = [tf.io.encode_png(image) for image in images]
    return tf.stack([tf.constant(str(width)), tf.constant(str(height))] + encoded)


class EventWriter:
    """Writes TensorBoard scalar and image events without the tensorboard package.

    Uses `tf.summary.write` with the plugin metadata the TensorBoard scalar and
    image dashboards read, so event files are readable by TensorBoard (and by
    `tf.compat.v1.train.summary_iterator`).
    """

    def __init__(self, log_dir):
        self.log_dir = str(log_dir)
        self._writer = None

    def _metadata(self, plugin_name):
        from tensorflow.core.framework import summary_pb2

        metadata = summary_pb2.SummaryMetadata()
        metadata.plugin_data.plugin_name = plugin_name
        return metadata.SerializeToString()

    def _ensure(self):
        if self._writer is None:
            self._writer = tf.summary.create_file_writer(self.log_dir)
        return self._writer

    def scalars(self, values, step):
        with self._ensure().as_default():
            for tag, value in values.items():
                tf.summary.write(
                    tag,
                    tf.constant(float(value), tf.float32),
                    step=step,
                    metadata=self._metadata("scalars"),
                )

    def images(self, tag, images, step):
        with self._ensure().as_default():
            tf.summary.write(
                tag, _png_strings(images), step=step, metadata=self._metadata("images")
            )

    def flush(self):
        if self._writer is not None:
            self._writer.flush()

    def close(self):
        if self._writer is not None:
            self._writer.close()
            self._writer = None


def figure_png(figure):
    """A matplotlib Figure rendered (Agg) to PNG bytes."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    buffer = io.BytesIO()
    FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()
