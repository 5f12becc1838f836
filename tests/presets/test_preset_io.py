import json

import keras
import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa.presets import IntegrityError
from keras_miyasawa.presets import PresetError
from keras_miyasawa.presets import save_to_preset
from keras_miyasawa.presets.cache import sha256_file

TINY_MODELS = {
    "dncnn_bias_free": lambda: km.models.DnCNN(depth=4, filters=8),
    "dncnn_bias": lambda: km.models.DnCNN(depth=4, filters=8, bias_free=False),
    "unet_bias_free": lambda: km.models.UNet(filters=4),
    "unet_bias": lambda: km.models.UNet(filters=4, bias_free=False, residual=False),
    "unet_rgb_levels2": lambda: km.models.UNet(channels=3, filters=4, levels=2),
}


def _randomize(model, seed=0):
    """Random weights everywhere, positive where variances are expected."""
    rng = np.random.default_rng(seed)
    for variable in model.weights:
        value = rng.normal(size=variable.shape)
        if "variance" in variable.path:
            value = np.abs(value) + 0.5
        variable.assign(value.astype(variable.dtype))
    return model


def _images(channels, seed=1):
    return np.random.default_rng(seed).random((2, 19, 23, channels), "float32")


@pytest.fixture(scope="module")
def tiny_models():
    return {name: _randomize(build()) for name, build in TINY_MODELS.items()}


@pytest.mark.parametrize("name", list(TINY_MODELS))
def test_round_trip_reproduces_outputs_exactly(tmp_path, tiny_models, name):
    model = tiny_models[name]
    preset_dir = model.save_to_preset(tmp_path / name)
    loaded = km.from_preset(preset_dir)
    assert type(loaded) is type(model)
    assert loaded.get_config() == model.get_config()
    for a, b in zip(model.weights, loaded.weights, strict=True):
        assert a.path == b.path
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))
    y = _images(model.channels)
    np.testing.assert_array_equal(
        np.asarray(loaded(y, training=False)), np.asarray(model(y, training=False))
    )
    # The class method loads the same preset into its own class.
    assert type(type(model).from_preset(preset_dir)) is type(model)


def test_preset_folder_contents(tmp_path, tiny_models):
    model = tiny_models["dncnn_bias_free"]
    metadata = {
        "training_noise_range": [0.0, 55 / 255],
        "training_data": "train400",
        "set12_psnr": {"15": 32.0, "25": 30.0, "50": 27.0},
        "parameter_count": -1,  # computed fields cannot be overridden
    }
    preset_dir = model.save_to_preset(tmp_path / "bf_dncnn", metadata=metadata)
    assert sorted(p.name for p in preset_dir.iterdir()) == [
        "README.md",
        "config.json",
        "metadata.json",
        "model.weights.h5",
    ]
    config = json.loads((preset_dir / "config.json").read_text())
    assert config["registered_name"] == "keras_miyasawa>DnCNN"
    assert config["config"]["depth"] == 4
    meta = json.loads((preset_dir / "metadata.json").read_text())
    assert meta["weights_sha256"] == sha256_file(preset_dir / "model.weights.h5")
    assert meta["architecture"] == "dncnn"
    assert meta["channels"] == 1
    assert meta["bias_free"] is True
    assert meta["data_range"] == [0.0, 1.0]
    assert meta["training_noise_range"] == [0.0, 55 / 255]
    assert meta["training_data"] == "train400"
    assert meta["parameter_count"] == model.count_params()
    assert meta["keras_version"] == keras.__version__
    assert meta["keras_miyasawa_version"] == km.__version__
    card = (preset_dir / "README.md").read_text()
    assert "# bf_dncnn" in card
    assert "[0, 55] / 255" in card
    assert "| 32.00 | 30.00 | 27.00 |" in card
    assert meta["weights_sha256"] in card
    # Nothing but the preset is left next to it (no temporary folders).
    assert [p.name for p in tmp_path.iterdir()] == ["bf_dncnn"]


def test_loading_into_the_wrong_class_is_a_clear_error(tmp_path, tiny_models):
    preset_dir = tiny_models["unet_bias_free"].save_to_preset(tmp_path / "unet")
    with pytest.raises(PresetError, match="holds a UNet, not a DnCNN"):
        km.models.DnCNN.from_preset(preset_dir)
    assert isinstance(km.models.Denoiser.from_preset(preset_dir), km.models.UNet)


def test_missing_weights_is_a_clear_error(tmp_path, tiny_models):
    preset_dir = tiny_models["dncnn_bias"].save_to_preset(tmp_path / "p")
    (preset_dir / "model.weights.h5").unlink()
    with pytest.raises(PresetError, match=r"has no model\.weights\.h5"):
        km.from_preset(preset_dir)


def test_corrupted_weights_are_refused(tmp_path, tiny_models):
    preset_dir = tiny_models["dncnn_bias"].save_to_preset(tmp_path / "p")
    weights = preset_dir / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[len(data) // 2] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupted or was modified"):
        km.from_preset(preset_dir)


def test_truncated_weights_with_a_matching_sha256_are_a_clear_error(
    tmp_path, tiny_models
):
    preset_dir = tiny_models["unet_bias"].save_to_preset(tmp_path / "p")
    weights = preset_dir / "model.weights.h5"
    weights.write_bytes(weights.read_bytes()[:1000])
    meta = json.loads((preset_dir / "metadata.json").read_text())
    meta["weights_sha256"] = sha256_file(weights)
    (preset_dir / "metadata.json").write_text(json.dumps(meta))
    with pytest.raises(PresetError, match="Cannot load the preset"):
        km.from_preset(preset_dir)


@pytest.mark.parametrize("broken", ["config.json", "metadata.json"])
def test_missing_or_invalid_json_is_a_clear_error(tmp_path, tiny_models, broken):
    preset_dir = tiny_models["unet_bias"].save_to_preset(tmp_path / "p")
    (preset_dir / broken).write_text("{not json")
    with pytest.raises(PresetError, match="Cannot parse"):
        km.from_preset(preset_dir)
    (preset_dir / broken).unlink()
    with pytest.raises(PresetError, match=f"has no {broken}"):
        km.from_preset(preset_dir)


@pytest.mark.parametrize("registered_name", ["keras>Dense", "builtins>eval", None])
def test_config_naming_another_class_is_refused(tmp_path, tiny_models, registered_name):
    preset_dir = tiny_models["unet_bias"].save_to_preset(tmp_path / "p")
    config = json.loads((preset_dir / "config.json").read_text())
    config["registered_name"] = registered_name
    config["class_name"] = registered_name
    (preset_dir / "config.json").write_text(json.dumps(config))
    with pytest.raises(PresetError, match="not a registered keras_miyasawa denoiser"):
        km.from_preset(preset_dir)


def test_never_overwrites_without_overwrite(tmp_path, tiny_models):
    first, second = tiny_models["dncnn_bias_free"], tiny_models["dncnn_bias"]
    preset_dir = first.save_to_preset(tmp_path / "p")
    before = (preset_dir / "model.weights.h5").read_bytes()
    with pytest.raises(FileExistsError, match="overwrite=True"):
        second.save_to_preset(preset_dir)
    assert (preset_dir / "model.weights.h5").read_bytes() == before
    second.save_to_preset(preset_dir, overwrite=True)
    assert km.from_preset(preset_dir).bias_free is False
    assert [p.name for p in tmp_path.iterdir()] == ["p"]


def test_overwrite_refuses_a_folder_that_is_not_a_preset(tmp_path, tiny_models):
    (tmp_path / "notes.txt").write_text("keep me")
    with pytest.raises(FileExistsError, match="Refusing to overwrite"):
        tiny_models["dncnn_bias"].save_to_preset(tmp_path, overwrite=True)
    assert (tmp_path / "notes.txt").read_text() == "keep me"


def test_an_empty_folder_is_filled(tmp_path, tiny_models):
    (tmp_path / "empty").mkdir()
    tiny_models["unet_bias"].save_to_preset(tmp_path / "empty")
    assert km.from_preset(tmp_path / "empty").filters == 4


def test_failed_save_leaves_nothing(tmp_path, tiny_models, monkeypatch):
    model = tiny_models["dncnn_bias"]

    def fail(path):
        with open(path, "wb") as file:
            file.write(b"half")
        raise OSError("disk full")

    monkeypatch.setattr(model, "save_weights", fail)
    with pytest.raises(OSError, match="disk full"):
        model.save_to_preset(tmp_path / "p")
    assert list(tmp_path.iterdir()) == []


def test_save_rejects_non_denoisers(tmp_path):
    inputs = keras.Input((None, None, 1))
    plain = keras.Model(inputs, keras.layers.Conv2D(1, 3, padding="same")(inputs))
    with pytest.raises(TypeError, match="Denoiser"):
        save_to_preset(plain, tmp_path / "p")
    with pytest.raises(PresetError, match="No preset folder"):
        km.presets.load_preset_metadata(tmp_path / "missing")
