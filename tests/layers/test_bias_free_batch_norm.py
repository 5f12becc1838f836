import keras
import numpy as np
import pytest

from keras_miyasawa.layers import BiasFreeBatchNorm
from tests import test_case


def _batch(seed=0, offset=0.7):
    rng = np.random.default_rng(seed)
    return (offset + rng.normal(size=(4, 6, 5, 3)) * [0.5, 1.0, 2.0]).astype("float32")


def test_layer_basics(tmp_path):
    layer = test_case.run_layer_test(
        BiasFreeBatchNorm, {}, (4, 6, 5, 3), (4, 6, 5, 3), 1, 1, tmp_path
    )
    names = sorted(w.path.split("/")[-1] for w in layer.weights)
    assert names == ["gamma", "moving_variance"]


def test_training_divides_by_batch_std_without_centering():
    x = _batch()
    layer = BiasFreeBatchNorm(epsilon=1e-5)
    layer.build(x.shape)
    gamma = np.array([0.5, 2.0, -1.0], "float32")
    layer.gamma.assign(gamma)
    out = np.asarray(layer(x, training=True))
    std = np.sqrt(x.var(axis=(0, 1, 2)) + 1e-5)
    np.testing.assert_allclose(out, x / std * gamma, rtol=1e-5, atol=1e-6)
    # No mean subtraction: the channel means of the output are not zero.
    assert np.all(np.abs(out.mean(axis=(0, 1, 2))) > 0.1)


def test_moving_variance_updates_as_batch_normalization():
    x = _batch()
    ours = BiasFreeBatchNorm(momentum=0.9)
    reference = keras.layers.BatchNormalization(momentum=0.9, center=False)
    for _ in range(3):
        ours(x, training=True)
        reference(x, training=True)
    np.testing.assert_allclose(
        ours.moving_variance.numpy(), reference.moving_variance.numpy(), rtol=1e-5
    )


def test_inference_uses_moving_std_and_is_homogeneous():
    x = _batch()
    layer = BiasFreeBatchNorm(epsilon=1e-3)
    layer.build(x.shape)
    layer.moving_variance.assign([4.0, 1.0, 0.25])
    layer.gamma.assign([1.0, 3.0, 2.0])
    out = np.asarray(layer(x, training=False))
    np.testing.assert_allclose(
        out, x * np.array([1.0, 3.0, 2.0]) / np.sqrt([4.001, 1.001, 0.251]), rtol=1e-5
    )
    np.testing.assert_allclose(layer(5.0 * x), 5.0 * out, rtol=1e-5)


def test_mixed_precision_keeps_statistics_in_float32():
    keras.config.set_dtype_policy("mixed_float16")
    layer = BiasFreeBatchNorm()
    out = layer(_batch(), training=True)
    assert keras.backend.standardize_dtype(out.dtype) == "float16"
    assert layer.moving_variance.dtype == "float32"
    assert np.all(np.isfinite(layer.moving_variance.numpy()))


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"center": True}, "center=True"),
        ({"momentum": 1.0}, "momentum=1.0"),
        ({"epsilon": 0.0}, "epsilon=0.0"),
        ({"axis": "last"}, "axis='last'"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BiasFreeBatchNorm(**kwargs)
