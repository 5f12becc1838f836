"""Shared test helpers in the spirit of Keras' `run_layer_test`."""

from pathlib import Path

import keras
import numpy as np

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared"
HOMOGENEITY_SCALES = (0.1, 2.0, 10.0)


def random_images(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


def homogeneity_error(model, y, scale):
    """max |f(a y) - a f(y)| / max |a f(y)| in inference mode."""
    a_f = scale * np.asarray(model(y, training=False), dtype="float64")
    f_a = np.asarray(model(scale * y, training=False), dtype="float64")
    return float(np.max(np.abs(f_a - a_f)) / np.max(np.abs(a_f)))


def max_homogeneity_error(model, y):
    return max(homogeneity_error(model, y, a) for a in HOMOGENEITY_SCALES)


def assert_keras_round_trip(model, x, tmp_path):
    """`.keras` save/load reproduces the outputs exactly, without custom_objects."""
    expected = np.asarray(model(x, training=False))
    path = tmp_path / "model.keras"
    model.save(path)
    reloaded = keras.saving.load_model(path)
    np.testing.assert_array_equal(np.asarray(reloaded(x, training=False)), expected)
    return reloaded


def assert_config_round_trip(obj):
    config = obj.get_config()
    clone = type(obj).from_config(config)
    assert clone.get_config() == config
    return clone


def run_layer_test(
    layer_cls,
    init_kwargs,
    input_shape,
    expected_output_shape,
    expected_num_trainable_weights,
    expected_num_non_trainable_weights,
    tmp_path,
):
    """Build, shapes, weight counts, config and `.keras` round trips, one fit step."""
    layer = layer_cls(**init_kwargs)
    x = np.random.default_rng(0).normal(size=input_shape).astype("float32")
    y = layer(x)
    assert tuple(y.shape) == expected_output_shape
    assert tuple(layer.compute_output_shape(input_shape)) == expected_output_shape
    assert len(layer.trainable_weights) == expected_num_trainable_weights
    assert len(layer.non_trainable_weights) == expected_num_non_trainable_weights
    assert_config_round_trip(layer)

    inputs = keras.Input(shape=input_shape[1:])
    model = keras.Model(inputs, layer_cls(**init_kwargs)(inputs))
    assert_keras_round_trip(model, x, tmp_path)

    model.compile(optimizer="sgd", loss="mse")
    target = np.zeros(expected_output_shape, "float32")
    before = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    history = model.fit(x, target, epochs=1, batch_size=input_shape[0], verbose=0)
    assert np.isfinite(history.history["loss"][0])
    after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
    assert any(not np.array_equal(b, a) for b, a in zip(before, after))
    return layer
