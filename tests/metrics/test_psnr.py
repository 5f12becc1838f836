import keras
import numpy as np
import pytest

import keras_miyasawa as km


def test_psnr_per_example():
    x = np.zeros((2, 4, 4, 1), "float32")
    y = x.copy()
    y[0] += 0.1
    y[1] += 0.01
    np.testing.assert_allclose(km.metrics.psnr(x, y), [20.0, 40.0], rtol=1e-4)
    np.testing.assert_allclose(
        km.metrics.psnr(x, 255 * y, max_val=255.0), [20, 40], rtol=1e-4
    )


def test_psnr_metric_in_fit_and_round_trip():
    metric = km.metrics.PSNR()
    metric.update_state(np.zeros((2, 3, 3, 1)), np.full((2, 3, 3, 1), 0.1))
    assert abs(float(metric.result()) - 20.0) < 1e-3
    clone = km.metrics.PSNR.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
    model = km.models.DnCNN(depth=3, filters=4)
    model.compile(optimizer="sgd", loss="mse", metrics=[km.metrics.PSNR()])
    x = np.random.default_rng(0).uniform(size=(4, 8, 8, 1)).astype("float32")
    history = model.fit(x, x, epochs=1, verbose=0)
    assert np.isfinite(history.history["psnr"][0])
    assert isinstance(
        keras.metrics.get(keras.metrics.serialize(metric)), km.metrics.PSNR
    )


def test_psnr_shape_mismatch():
    with pytest.raises(ValueError, match="same shape"):
        km.metrics.psnr(np.zeros((1, 4, 4, 1)), np.zeros((1, 4, 5, 1)))
