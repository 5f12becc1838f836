"""A callback that measures, during training, how close a denoiser is to Miyasawa."""

import keras
import tensorflow as tf

from keras_miyasawa import _validation
from keras_miyasawa.analysis import jacobian
from keras_miyasawa.callbacks import _common
from keras_miyasawa.miyasawa import as_denoise_fn

STATISTICS = (
    "psnr",
    "residual_ratio",
    "sigma_hat_error",
    "score_norm",
    "homogeneity_error",
    "jacobian_asymmetry",
    "divergence",
    "sure_mse",
    "mse",
)


class MiyasawaMonitor(keras.callbacks.Callback):
    """Logs Miyasawa statistics of the model on a fixed noisy validation set.

    For each noise level sigma in `sigmas`, the clean `validation_data` gets one
    fixed noise draw (seeded), and every `frequency` epochs the callback adds
    to `logs` (so `History`, `CSVLogger` and `TensorBoard` placed *after* it
    in the callback list see them) the batch means of, under the names
    `"{prefix}_{statistic}_s{sigma in 0-255 units}"` (e.g.
    `miyasawa_psnr_s25`):

    - `psnr`: PSNR of `x_hat` (clipped to [0, 1] if `clip`) in dB;
    - `residual_ratio`: ||x_hat - y|| / (sigma sqrt(N)), about 1 for a good
      denoiser (N values per image);
    - `sigma_hat_error`: the relative error (sigma_hat - sigma) / sigma of the
      blind estimate sigma_hat = ||x_hat - y|| / sqrt(N) (negative: the
      residual misses the noise along the signal);
    - `score_norm`: the RMS ||score|| / sqrt(N) of the Miyasawa score
      (x_hat - y) / sigma^2;
    - `homogeneity_error`: ||f(a y) - a f(y)|| / ||a f(y)|| at
      `a = homogeneity_scale` (0 for a bias-free network);
    - `jacobian_asymmetry`: ||J v - J^T v|| / ||J v|| for Rademacher probes v
      (0 for a true MMSE denoiser, whose Jacobian is a Hessian plus I);
    - `divergence`: Hutchinson's estimate of tr(J), the effective dimension;
    - `sure_mse` and `mse`: Stein's unbiased estimate of the per-value MSE
      (no clean image needed) next to the true MSE.

    Cost per evaluation and noise level, on the whole validation set, in one
    compiled `tf.function` (traced once): 2 forward passes plus `num_probes`
    x (one JVP + one VJP), about `2 + 6 * num_probes` forward passes. Run it on
    a few small images and raise `frequency` for long trainings.

    Args:
        validation_data: clean images, float `(n, h, w, c)` in [0, 1].
        sigmas: noise levels in [0, 1] units. Defaults to 15, 25 and 50 / 255.
        num_probes: int, random probes for the Jacobian statistics. Defaults to
            `1`.
        frequency: int, evaluate every `frequency` epochs. Defaults to `1`.
        log_dir: optional folder for TensorBoard events: the scalars and, for
            the first `max_images` images, the noisy input, the estimate and
            the score (rescaled to [0, 1]). Defaults to `None`.
        max_images: int, images written to `log_dir`. Defaults to `3`.
        homogeneity_scale: float > 0. Defaults to `2.0`.
        clip: bool, clip `x_hat` to [0, 1] for the PSNR. Defaults to `True`.
        seed: int, the seed of the noise and probes. Defaults to `0`.
        prefix: str, the prefix of the logged names. Defaults to `"miyasawa"`.
        denoiser: optional denoiser to monitor instead of the model being
            trained (blind or noise-conditional, e.g. an analytic prior).

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> images = np.random.default_rng(0).uniform(size=(2, 16, 16, 1))
    >>> monitor = km.callbacks.MiyasawaMonitor(images.astype("float32"))
    >>> stats = monitor.evaluate(km.models.DnCNN(depth=3, filters=4))
    >>> sorted(stats)[:3]
    ['miyasawa_divergence_s15', 'miyasawa_divergence_s25', 'miyasawa_divergence_s50']
    """

    def __init__(
        self,
        validation_data,
        sigmas=(15.0 / 255.0, 25.0 / 255.0, 50.0 / 255.0),
        num_probes=1,
        frequency=1,
        log_dir=None,
        max_images=3,
        homogeneity_scale=2.0,
        clip=True,
        seed=0,
        prefix="miyasawa",
        denoiser=None,
    ):
        super().__init__()
        self.validation_data = _common.check_validation_images(validation_data)
        self.sigmas = _common.check_sigmas(sigmas)
        self.num_probes = _validation.check_positive_int(num_probes, "num_probes")
        self.frequency = _common.check_frequency(frequency)
        self.log_dir = log_dir
        self.max_images = _validation.check_positive_int(max_images, "max_images")
        self.homogeneity_scale = _validation.check_positive_float(
            homogeneity_scale, "homogeneity_scale"
        )
        self.clip = clip
        self.seed = _validation.check_positive_int(seed, "seed", minimum=0)
        self.prefix = prefix
        self.denoiser = denoiser
        self._noisy = _common.noisy_copies(self.validation_data, self.sigmas, seed)
        self._writer = _common.EventWriter(log_dir) if log_dir else None
        self._compiled = {}

    def _statistics_fn(self, denoiser):
        """The compiled statistics of `denoiser`, traced once per denoiser."""
        key = id(denoiser)
        if key not in self._compiled:
            fn, _ = as_denoise_fn(denoiser)
            num_probes, scale, clip = self.num_probes, self.homogeneity_scale, self.clip

            def statistics(clean, noisy, sigma, seed):
                probe = jacobian.jacobian_probe_statistics(
                    lambda y: fn(y, sigma), noisy, None, num_probes, seed
                )
                x_hat = probe["x_hat"]
                n = jacobian._num_values(noisy)
                residual_norm = jacobian._per_example_norm(x_hat - noisy)
                scaled = fn(scale * noisy, sigma * scale)
                estimate = tf.clip_by_value(x_hat, 0.0, 1.0) if clip else x_hat
                mse_clip = jacobian._per_example_sum(tf.square(estimate - clean)) / n
                mse = jacobian._per_example_sum(tf.square(x_hat - clean)) / n
                sure = jacobian.sure_mse(
                    lambda y: x_hat, noisy, sigma, divergence=probe["divergence"]
                )
                sigma_hat = residual_norm / tf.sqrt(n)
                values = {
                    "psnr": -10.0 * tf.math.log(mse_clip) / tf.math.log(10.0),
                    "residual_ratio": sigma_hat / sigma,
                    "sigma_hat_error": (sigma_hat - sigma) / sigma,
                    "score_norm": sigma_hat / tf.square(sigma),
                    "homogeneity_error": jacobian._per_example_norm(
                        scaled - scale * x_hat
                    )
                    / jacobian._per_example_norm(scale * x_hat),
                    "jacobian_asymmetry": probe["asymmetry"],
                    "divergence": probe["divergence"],
                    "sure_mse": sure,
                    "mse": mse,
                }
                means = {k: tf.reduce_mean(v) for k, v in values.items()}
                return means, x_hat

            self._compiled[key] = tf.function(statistics, reduce_retracing=True)
        return self._compiled[key]

    def evaluate(self, denoiser=None):
        """Computes the statistics now.

        Args:
            denoiser: the denoiser to measure. Defaults to the `denoiser` given
                at construction, else the model being trained.

        Returns:
            A dict of Python floats keyed like the logged names.
        """
        results, _ = self._evaluate(self._resolve(denoiser))
        return results

    def _resolve(self, denoiser):
        denoiser = denoiser if denoiser is not None else self.denoiser
        if denoiser is None:
            denoiser = self.model
        if denoiser is None:
            raise ValueError(
                "MiyasawaMonitor has no denoiser: pass one, or use it as a callback "
                "of fit. Received: denoiser=None"
            )
        return denoiser

    def _evaluate(self, denoiser):
        statistics = self._statistics_fn(denoiser)
        results, estimates = {}, []
        for i, (sigma, noisy) in enumerate(zip(self.sigmas, self._noisy)):
            means, x_hat = statistics(
                self.validation_data,
                noisy,
                tf.constant(sigma, noisy.dtype),
                tf.constant([self.seed, i], tf.int64),
            )
            label = _common.sigma_label(sigma)
            for name in STATISTICS:
                results[f"{self.prefix}_{name}_s{label}"] = float(means[name])
            estimates.append(x_hat)
        return results, estimates

    def on_epoch_end(self, epoch, logs=None):
        if (epoch + 1) % self.frequency:
            return
        results, estimates = self._evaluate(self._resolve(None))
        if logs is not None:
            logs.update(results)
        if self._writer is not None:
            self._write_events(results, estimates, epoch)

    def _write_events(self, results, estimates, step):
        self._writer.scalars(results, step)
        count = min(self.max_images, int(self.validation_data.shape[0]))
        for sigma, noisy, x_hat in zip(self.sigmas, self._noisy, estimates):
            label = _common.sigma_label(sigma)
            residual = (x_hat - noisy)[:count]
            # The score (x_hat - y) / sigma^2 shown as 0.5 + score / (2 max |score|).
            peak = tf.reduce_max(tf.abs(residual), axis=(1, 2, 3), keepdims=True)
            score_image = 0.5 + 0.5 * residual / tf.maximum(peak, 1e-12)
            tag = f"{self.prefix}_s{label}"
            self._writer.images(f"{tag}/noisy", noisy[:count], step)
            self._writer.images(f"{tag}/denoised", x_hat[:count], step)
            self._writer.images(f"{tag}/score", score_image, step)
        self._writer.flush()

    def on_train_end(self, logs=None):
        if self._writer is not None:
            self._writer.close()
