import keras
import numpy as np
import pytest

import keras_miyasawa as km
from tests import test_case


def _randomize_batch_norms(model, seed=0):
    """Non-trivial inference statistics, so that folding has something to do."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(
            layer, (km.layers.BiasFreeBatchNorm, keras.layers.BatchNormalization)
        ):
            for weight in layer.weights:
                name = weight.path.split("/")[-1]
                low, high = (0.05, 4.0) if "variance" in name else (-0.5, 1.5)
                if name in ("moving_mean", "beta"):
                    low, high = -0.2, 0.2
                weight.assign(rng.uniform(low, high, weight.shape).astype("float32"))
    return model


def _relative_error(a, b):
    a, b = np.asarray(a, "float64"), np.asarray(b, "float64")
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


MODELS = {
    "bf_dncnn_gray": lambda: km.models.DnCNN(channels=1, depth=6, filters=16),
    "bf_dncnn_colour": lambda: km.models.DnCNN(channels=3, depth=6, filters=16),
    "bf_unet_gray": lambda: km.models.UNet(channels=1, filters=8, batch_norm=True),
    "bf_unet_colour": lambda: km.models.UNet(
        channels=3, filters=8, levels=2, batch_norm=True
    ),
    "dncnn_biased": lambda: km.models.DnCNN(depth=6, filters=16, bias_free=False),
    "unet_biased": lambda: km.models.UNet(
        channels=3, filters=8, batch_norm=True, bias_free=False
    ),
}


@pytest.mark.parametrize("name", sorted(MODELS))
def test_folded_model_equals_the_original(name):
    model = _randomize_batch_norms(MODELS[name]())
    y = test_case.random_images((2, 23, 30, model.channels))
    folded = km.models.fold_batch_norm(model)
    assert type(folded) is type(model)
    assert folded.batch_norm is False and model.batch_norm is True
    assert folded.bias_free == model.bias_free
    norms = (km.layers.BiasFreeBatchNorm, keras.layers.BatchNormalization)
    assert not any(isinstance(layer, norms) for layer in folded.layers)
    assert _relative_error(folded(y), model(y, training=False)) < 1e-5
    if model.bias_free:
        assert test_case.max_homogeneity_error(folded, y) < 1e-5


def test_biased_network_needs_its_bias_to_absorb_the_shift():
    model = _randomize_batch_norms(MODELS["dncnn_biased"]())
    folded = km.models.fold_batch_norm(model)
    # Without the folded bias the outputs would differ: the shift is real.
    conv = folded.get_layer("hidden_conv_1")
    assert np.max(np.abs(conv.get_weights()[1])) > 1e-3


def test_folded_model_round_trips_through_keras_and_presets(tmp_path):
    model = _randomize_batch_norms(MODELS["bf_dncnn_gray"]())
    folded = km.models.fold_batch_norm(model)
    y = test_case.random_images((1, 17, 19, 1))
    reloaded = test_case.assert_keras_round_trip(folded, y, tmp_path)
    assert isinstance(reloaded, km.models.DnCNN) and reloaded.batch_norm is False
    preset = folded.save_to_preset(tmp_path / "folded")
    np.testing.assert_array_equal(
        km.models.DnCNN.from_preset(preset)(y), folded(y, training=False)
    )


def test_model_without_batch_norm_is_copied():
    model = km.models.UNet(filters=8)
    folded = km.models.fold_batch_norm(model)
    assert folded is not model
    y = test_case.random_images((1, 16, 16, 1))
    np.testing.assert_array_equal(folded(y), model(y))


def test_refuses_other_models():
    inputs = keras.Input((8, 8, 1))
    plain = keras.Model(inputs, keras.layers.Conv2D(1, 3)(inputs))
    with pytest.raises(TypeError, match="Received: model of type Functional"):
        km.models.fold_batch_norm(plain)
