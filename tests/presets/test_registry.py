import json
import shutil
import urllib.request
from pathlib import Path

import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa.presets import IntegrityError
from keras_miyasawa.presets import PresetError
from keras_miyasawa.presets import reference_presets
from keras_miyasawa.presets import registry

NAME = "mohan2020_unet_bias_free_0-10"
ENTRY = reference_presets.MOHAN2020_PRESETS[NAME]


def test_reference_table_is_complete_and_consistent(shared_dir):
    table = reference_presets.MOHAN2020_PRESETS
    assert len(table) == 16
    sums = {}
    for line in (shared_dir / "reference" / "checkpoints" / "SHA256SUMS").open():
        digest, path = line.split()
        sums[path.removeprefix("checkpoints/")] = digest
    for name, entry in table.items():
        arch, bias, noise = entry["file"].removesuffix(".pt").split("/")
        assert name == f"mohan2020_{arch}_{bias}_{noise}"
        assert entry["architecture"] == arch
        assert entry["bias_free"] == (bias == "bias_free")
        assert entry["training_noise_range_255"] == (0, int(noise.split("-")[1]))
        assert entry["sha256"] == sums[entry["file"]]
        assert entry["url"] == (
            "https://github.com/LabForComputationalVision/bias_free_denoising/raw/"
            f"master/pretrained/{entry['file']}"
        )


def test_list_presets(preset_env):
    names = km.list_presets()
    assert set(reference_presets.MOHAN2020_PRESETS) <= set(names)
    assert all("unet" in n for n in km.list_presets(architecture="unet"))
    assert len(km.list_presets(architecture="dncnn")) == 8
    with pytest.raises(ValueError, match="architecture='vgg'"):
        km.list_presets(architecture="vgg")


def test_project_presets_are_found_in_the_models_folder(preset_env):
    model = km.models.UNet(filters=4)
    model.save_to_preset(preset_env.models / "km_tiny_unet")
    (preset_env.models / "not_a_preset").mkdir()
    names = km.list_presets()
    assert names[0] == "km_tiny_unet"
    assert "not_a_preset" not in names
    info = km.presets.get_preset_info("km_tiny_unet")
    assert info["kind"] == "project" and info["architecture"] == "unet"
    assert isinstance(km.from_preset("km_tiny_unet"), km.models.UNet)


def test_reference_preset_is_converted_once_and_cached(
    shared_dir, preset_env, monkeypatch
):
    info = km.presets.get_preset_info(NAME)
    assert info["kind"] == "reference" and info["path"] is None
    model = km.from_preset(NAME)
    assert isinstance(model, km.models.UNet) and model.is_bias_free
    cached = preset_env.home / "presets" / NAME
    meta = json.loads((cached / "metadata.json").read_text())
    assert meta["source"]["sha256"] == ENTRY["sha256"]
    assert meta["training_noise_range_255"] == [0, 10]
    assert km.presets.get_preset_info(NAME)["path"] == str(cached)

    # The second load reads the cached preset and converts nothing.
    def no_conversion(*args, **kwargs):
        raise AssertionError("converted twice")

    monkeypatch.setattr(registry, "import_torch_state", no_conversion)
    again = km.models.UNet.from_preset(NAME)
    fixture = np.load(shared_dir / "reference" / "parity" / "unet_bias_free_0-10.npz")
    np.testing.assert_allclose(
        np.asarray(again(fixture["odd_input"])), fixture["odd_output"], atol=1e-4
    )


def test_wrong_class_is_refused_before_any_work(preset_env):
    with pytest.raises(PresetError, match="holds a UNet, not a DnCNN"):
        km.models.DnCNN.from_preset(NAME)
    assert not preset_env.home.exists()


def test_unknown_preset_suggests_names(preset_env):
    with pytest.raises(PresetError, match="Did you mean mohan2020_unet_bias_free_0-10"):
        km.from_preset("mohan2020_unet_biasfree_0-10")
    with pytest.raises(TypeError, match="preset"):
        km.from_preset(3)


def _copy_checkpoint(preset_env, tmp_path, monkeypatch, corrupt):
    folder = tmp_path / "checkpoints"
    target = folder / ENTRY["file"]
    target.parent.mkdir(parents=True)
    shutil.copyfile(preset_env.checkpoints / ENTRY["file"], target)
    if corrupt:
        data = bytearray(target.read_bytes())
        data[-10] ^= 0x01  # one bit of one weight
        target.write_bytes(bytes(data))
    monkeypatch.setenv("KERAS_MIYASAWA_CHECKPOINT_DIR", str(folder))
    return target


def test_checkpoint_with_wrong_sha256_is_refused_and_nothing_is_cached(
    shared_dir, preset_env, tmp_path, monkeypatch
):
    _copy_checkpoint(preset_env, tmp_path, monkeypatch, corrupt=True)
    with pytest.raises(IntegrityError, match="sha256 mismatch"):
        km.from_preset(NAME)
    presets = preset_env.home / "presets"
    assert not presets.exists() or list(presets.iterdir()) == []


def test_corrupted_cached_preset_is_refused(shared_dir, preset_env):
    km.presets.convert_reference_preset(NAME)
    weights = preset_env.home / "presets" / NAME / "model.weights.h5"
    data = bytearray(weights.read_bytes())
    data[-1] ^= 0xFF
    weights.write_bytes(bytes(data))
    with pytest.raises(IntegrityError, match="corrupted or was modified"):
        km.from_preset(NAME)


def test_missing_checkpoint_is_downloaded_verified_and_converted(
    shared_dir, preset_env, tmp_path, monkeypatch
):
    empty = tmp_path / "downloads"
    monkeypatch.setenv("KERAS_MIYASAWA_CHECKPOINT_DIR", str(empty))
    source = (preset_env.checkpoints / ENTRY["file"]).resolve()
    entry = dict(ENTRY, url=source.as_uri())
    monkeypatch.setitem(reference_presets.MOHAN2020_PRESETS, NAME, entry)
    model = km.from_preset(NAME)
    assert isinstance(model, km.models.UNet)
    assert (empty / ENTRY["file"]).read_bytes() == source.read_bytes()
    assert [p.name for p in (empty / ENTRY["file"]).parent.iterdir()] == ["0-10.pt"]


def test_interrupted_download_leaves_no_partial_file(
    shared_dir, preset_env, tmp_path, monkeypatch
):
    empty = tmp_path / "downloads"
    monkeypatch.setenv("KERAS_MIYASAWA_CHECKPOINT_DIR", str(empty))
    data = (preset_env.checkpoints / ENTRY["file"]).read_bytes()

    class _HalfResponse:
        def __init__(self):
            self.sent = False

        def read(self, size):
            if self.sent:
                raise ConnectionResetError("connection lost halfway")
            self.sent = True
            return data[: len(data) // 2]

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    opened = []

    def fake_urlopen(url, timeout=None):
        opened.append(url)
        return _HalfResponse()

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    with pytest.raises(ConnectionResetError):
        km.from_preset(NAME)
    assert opened == [ENTRY["url"]]
    assert [p for p in empty.rglob("*") if p.is_file()] == []
    presets = preset_env.home / "presets"
    assert not presets.exists() or list(presets.iterdir()) == []


def test_default_models_dir_is_the_checkout_models_folder(monkeypatch):
    monkeypatch.delenv("KERAS_MIYASAWA_MODELS_DIR", raising=False)
    root = Path(__file__).resolve().parents[2]
    assert km.presets.get_models_dir() == root / "models"
