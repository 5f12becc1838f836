import csv

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_miyasawa as km
from keras_miyasawa.callbacks import MiyasawaMonitor
from keras_miyasawa.callbacks import NoiseLevelSweep
from keras_miyasawa.data import denoising_dataset

SIGMA = 0.2


@pytest.fixture(scope="module")
def gaussian():
    """A Gaussian prior on 8x8 images and its Wiener filter's spectrum."""
    rng = np.random.default_rng(0)
    a = rng.normal(size=(64, 64))
    covariance = a @ a.T / 64 * 0.05
    prior = km.priors.Gaussian(np.zeros((8, 8, 1)), covariance)
    clean = np.asarray(prior.sample(400, seed=1), dtype="float32")
    return prior, clean, np.linalg.eigvalsh(covariance)


def test_monitor_on_the_exact_denoiser_of_a_gaussian(gaussian):
    prior, clean, eigvals = gaussian
    monitor = MiyasawaMonitor(
        clean,
        sigmas=[SIGMA],
        num_probes=2,
        denoiser=lambda y: prior.denoise(y, SIGMA),
        clip=False,
    )
    stats = {
        k.rsplit("_s", 1)[0][len("miyasawa_") :]: v
        for k, v in monitor.evaluate().items()
    }
    n = 64
    trace = np.sum(eigvals / (eigvals + SIGMA**2))
    # E||x_hat - y||^2 = sigma^4 tr((C + sigma^2 I)^-1), so the ratio is known.
    ratio = np.sqrt(SIGMA**2 / n * np.sum(1.0 / (eigvals + SIGMA**2)))
    mmse = SIGMA**2 * trace / n
    assert stats["residual_ratio"] == pytest.approx(ratio, rel=0.02)
    assert stats["sigma_hat_error"] == pytest.approx(ratio - 1.0, abs=0.02)
    assert stats["score_norm"] == pytest.approx(ratio / SIGMA, rel=0.02)
    assert stats["jacobian_asymmetry"] < 1e-5
    assert stats["homogeneity_error"] < 1e-5
    assert stats["divergence"] == pytest.approx(trace, rel=0.03)
    assert stats["mse"] == pytest.approx(mmse, rel=0.05)
    assert stats["sure_mse"] == pytest.approx(stats["mse"], rel=0.05)
    # The mean of per-image PSNRs is at least the PSNR of the mean MSE (Jensen).
    assert 0 <= stats["psnr"] + 10 * np.log10(stats["mse"]) < 0.5


def test_monitor_detects_a_non_symmetric_biased_denoiser(gaussian):
    _, clean, _ = gaussian
    skew = tf.constant(np.triu(np.ones((64, 64))) / 8, tf.float32)

    def denoiser(y):
        flat = tf.reshape(y, (-1, 64)) @ tf.transpose(skew) + 0.1
        return tf.reshape(flat, tf.shape(y))

    stats = MiyasawaMonitor(clean[:4], sigmas=[SIGMA]).evaluate(denoiser)
    assert stats["miyasawa_jacobian_asymmetry_s51"] > 0.3
    assert stats["miyasawa_homogeneity_error_s51"] > 0.01


def test_monitor_logs_reach_history_csv_and_tensorboard(tmp_path):
    images = np.random.default_rng(0).uniform(size=(6, 24, 24, 1)).astype("float32")
    model = km.models.DnCNN(depth=3, filters=4)
    model.compile(optimizer="adam", loss="mse")
    monitor = MiyasawaMonitor(
        images[:2, :16, :16], sigmas=[25 / 255], log_dir=tmp_path / "tb", max_images=1
    )
    csv_path = tmp_path / "history.csv"
    history = model.fit(
        denoising_dataset(images, 16, (0, 50 / 255), 4, seed=0),
        steps_per_epoch=2,
        epochs=2,
        callbacks=[monitor, keras.callbacks.CSVLogger(str(csv_path))],
        verbose=0,
    )
    keys = [f"miyasawa_{name}_s25" for name in km.callbacks.miyasawa_monitor.STATISTICS]
    for key in keys:
        assert len(history.history[key]) == 2
        assert np.isfinite(history.history[key]).all()
    with open(csv_path) as f:
        header = next(csv.reader(f))
    assert set(keys) <= set(header)

    tags = {}
    for path in (tmp_path / "tb").iterdir():
        for event in tf.compat.v1.train.summary_iterator(str(path)):
            for value in event.summary.value:
                tags.setdefault(value.tag, []).append((event.step, value))
    assert [step for step, _ in tags["miyasawa_psnr_s25"]] == [0, 1]
    _, value = tags["miyasawa_psnr_s25"][-1]
    assert float(tf.make_ndarray(value.tensor)) == pytest.approx(
        history.history["miyasawa_psnr_s25"][-1], rel=1e-5
    )
    for kind in ("noisy", "denoised", "score"):
        _, value = tags[f"miyasawa_s25/{kind}"][0]
        assert value.metadata.plugin_data.plugin_name == "images"
        width, height, png = tf.make_ndarray(value.tensor)
        assert (int(width), int(height)) == (16, 16)
        assert tf.io.decode_png(png).shape == (16, 16, 1)


def test_monitor_frequency_and_argument_errors():
    images = np.zeros((1, 8, 8, 1), "float32")
    monitor = MiyasawaMonitor(images, frequency=2, denoiser=lambda y: y)
    logs = {}
    monitor.on_epoch_end(0, logs)
    assert logs == {}
    monitor.on_epoch_end(1, logs)
    assert "miyasawa_psnr_s25" in logs
    with pytest.raises(ValueError, match=r"Received: sigmas=\[25\]"):
        MiyasawaMonitor(images, sigmas=[25])
    with pytest.raises(ValueError, match="num_probes=0"):
        MiyasawaMonitor(images, num_probes=0)
    with pytest.raises(TypeError, match="validation_data"):
        MiyasawaMonitor(np.zeros((1, 8, 8, 1), "uint8"))


def test_noise_level_sweep_curve_logs_and_figure(tmp_path):
    images = np.random.default_rng(1).uniform(size=(2, 16, 16, 1)).astype("float32")
    figure = tmp_path / "figures" / "sweep.png"
    sweep = NoiseLevelSweep(
        images,
        sigmas=[10 / 255, 50 / 255, 90 / 255],
        training_range=(0, 10 / 255),
        frequency=1,
        figure_path=figure,
        clip=False,
    )
    # The MMSE estimate for i.i.d. uniform pixels beats the noisy input at every level.
    curve = sweep.evaluate(lambda y: 0.5 + 0.0 * y)
    assert curve["psnr"] == pytest.approx(curve["psnr"][0])
    noisy_psnr = -10 * np.log10((np.array([10, 50, 90]) / 255) ** 2)
    np.testing.assert_allclose(curve["input_psnr"], noisy_psnr, atol=0.6)

    model = km.models.DnCNN(depth=3, filters=4)
    model.compile(optimizer="adam", loss="mse")
    history = model.fit(
        images, images, batch_size=2, epochs=1, callbacks=[sweep], verbose=0
    )
    assert "sweep_psnr_s90" in history.history
    assert figure.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(ValueError, match="training_range"):
        NoiseLevelSweep(images, training_range=(0, 55))
