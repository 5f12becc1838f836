"""PSNR against the noise level, in and beyond the training range."""

import keras
import numpy as np
import tensorflow as tf

from keras_miyasawa.callbacks import _common
from keras_miyasawa.data.denoising_dataset import check_sigma_range
from keras_miyasawa.miyasawa import as_denoise_fn

DEFAULT_SIGMAS = tuple(s / 255.0 for s in (5, 10, 15, 25, 35, 50, 70, 90, 100))


class NoiseLevelSweep(keras.callbacks.Callback):
    """PSNR of the model's estimate against sigma: the generalization curve.

    Mohan et al. (2020) show that bias-free networks keep denoising at noise
    levels far beyond their training range while biased ones collapse; this
    callback measures that curve on a fixed noisy copy of `validation_data` per
    sigma. Every `frequency` epochs (if set) it adds
    `"{prefix}_psnr_s{sigma in 0-255 units}"` to `logs`; at the end of training
    it measures once more and, if `figure_path` is set, saves a matplotlib
    figure (Agg, no display needed) of the input and output PSNR against sigma,
    with `training_range` shaded. Cost per measurement: one compiled forward
    pass over the validation set per sigma.

    Args:
        validation_data: clean images, float `(n, h, w, c)` in [0, 1].
        sigmas: noise levels in [0, 1] units. Defaults to 5 ... 100 / 255.
        training_range: optional `(sigma_min, sigma_max)` in [0, 1] units,
            shaded in the figure.
        frequency: optional int, also log every `frequency` epochs. Defaults
            to `None` (only at the end of training).
        figure_path: optional path of the figure (`.png`, `.pdf`, `.svg`).
        clip: bool, clip the estimate to [0, 1]. Defaults to `True`.
        seed: int, the seed of the noise. Defaults to `0`.
        prefix: str. Defaults to `"sweep"`.
        denoiser: optional denoiser to measure instead of the trained model.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> images = np.random.default_rng(0).uniform(size=(2, 16, 16, 1))
    >>> sweep = km.callbacks.NoiseLevelSweep(images.astype("float32"))
    >>> curve = sweep.evaluate(lambda y: y)  # the identity: PSNR of the input
    >>> float(round(curve["psnr"][3] - curve["input_psnr"][3], 6))
    0.0
    """

    def __init__(
        self,
        validation_data,
        sigmas=DEFAULT_SIGMAS,
        training_range=None,
        frequency=None,
        figure_path=None,
        clip=True,
        seed=0,
        prefix="sweep",
        denoiser=None,
    ):
        super().__init__()
        self.validation_data = _common.check_validation_images(validation_data)
        self.sigmas = _common.check_sigmas(sigmas)
        self.training_range = (
            None
            if training_range is None
            else check_sigma_range(training_range, "training_range")
        )
        self.frequency = (
            None if frequency is None else _common.check_frequency(frequency)
        )
        self.figure_path = figure_path
        self.clip = clip
        self.seed = seed
        self.prefix = prefix
        self.denoiser = denoiser
        self._noisy = _common.noisy_copies(self.validation_data, self.sigmas, seed)
        self._compiled = {}
        self.results = None

    def _psnr_fn(self, denoiser):
        key = id(denoiser)
        if key not in self._compiled:
            fn, _ = as_denoise_fn(denoiser)
            clip = self.clip

            def psnr(clean, noisy, sigma):
                x_hat = fn(noisy, sigma)
                if clip:
                    x_hat = tf.clip_by_value(x_hat, 0.0, 1.0)
                    noisy = tf.clip_by_value(noisy, 0.0, 1.0)
                axes = list(range(1, len(clean.shape)))
                mse_out = tf.reduce_mean(tf.square(x_hat - clean), axis=axes)
                mse_in = tf.reduce_mean(tf.square(noisy - clean), axis=axes)
                to_db = -10.0 / tf.math.log(10.0)
                return (
                    tf.reduce_mean(to_db * tf.math.log(mse_in)),
                    tf.reduce_mean(to_db * tf.math.log(mse_out)),
                )

            self._compiled[key] = tf.function(psnr, reduce_retracing=True)
        return self._compiled[key]

    def evaluate(self, denoiser=None):
        """Measures the curve now.

        Args:
            denoiser: the denoiser. Defaults to the `denoiser` given at
                construction, else the model being trained.

        Returns:
            A dict of NumPy arrays `sigma` ([0, 1] units), `input_psnr` and
            `psnr` (mean dB over the images), also kept in `self.results`.
        """
        denoiser = denoiser if denoiser is not None else self.denoiser
        denoiser = denoiser if denoiser is not None else self.model
        if denoiser is None:
            raise ValueError(
                "NoiseLevelSweep has no denoiser: pass one, or use it as a callback "
                "of fit. Received: denoiser=None"
            )
        psnr = self._psnr_fn(denoiser)
        inputs, outputs = [], []
        for sigma, noisy in zip(self.sigmas, self._noisy):
            psnr_in, psnr_out = psnr(
                self.validation_data, noisy, tf.constant(sigma, noisy.dtype)
            )
            inputs.append(float(psnr_in))
            outputs.append(float(psnr_out))
        self.results = {
            "sigma": np.asarray(self.sigmas),
            "input_psnr": np.asarray(inputs),
            "psnr": np.asarray(outputs),
        }
        return self.results

    def _log(self, logs):
        results = self.evaluate()
        if logs is not None:
            for sigma, value in zip(results["sigma"], results["psnr"]):
                logs[f"{self.prefix}_psnr_s{_common.sigma_label(sigma)}"] = value

    def on_epoch_end(self, epoch, logs=None):
        if self.frequency and (epoch + 1) % self.frequency == 0:
            self._log(logs)

    def on_train_end(self, logs=None):
        self._log(logs)
        if self.figure_path is not None:
            self.plot(self.figure_path)

    def plot(self, path=None, title=None):
        """A matplotlib Figure of the last measured curve, saved to `path` if given.

        Args:
            path: optional file path; its suffix picks the format.
            title: optional figure title.

        Returns:
            The `matplotlib.figure.Figure`.

        Raises:
            ValueError: if nothing was measured yet.
        """
        from keras_miyasawa import plot

        if self.results is None:
            raise ValueError(
                "nothing to plot: call evaluate() first. Received: results=None"
            )
        sigmas = self.results["sigma"]
        return plot.psnr_vs_sigma(
            {"denoised": (sigmas, self.results["psnr"])},
            input_psnr=(sigmas, self.results["input_psnr"]),
            training_range=self.training_range,
            path=path,
            title=title,
        )
