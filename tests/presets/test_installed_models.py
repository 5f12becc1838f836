"""The project's presets outside a source checkout (a regular `pip install`)."""

import configparser
from pathlib import Path

import pytest

import keras_miyasawa as km
from keras_miyasawa.presets import registry

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def installed(monkeypatch, tmp_path):
    """No source checkout, no `$KERAS_MIYASAWA_MODELS_DIR`: a fake prefix."""
    prefix = tmp_path / "prefix"
    monkeypatch.delenv(registry.MODELS_DIR_ENV, raising=False)
    monkeypatch.setenv("KERAS_MIYASAWA_HOME", str(tmp_path / "home"))
    monkeypatch.setattr(registry, "_source_checkout_root", lambda: None)
    monkeypatch.setattr(registry.sys, "prefix", str(prefix))
    monkeypatch.setattr(registry.site, "getuserbase", lambda: str(tmp_path / "user"))
    return prefix


def test_installed_models_dir_is_the_first_prefix_that_has_one(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    assert registry.get_installed_models_dir([first, second]) is None
    (second / "share" / "keras-miyasawa" / "models").mkdir(parents=True)
    found = registry.get_installed_models_dir([first, second])
    assert found == second / "share" / "keras-miyasawa" / "models"
    (first / "share" / "keras-miyasawa" / "models").mkdir(parents=True)
    assert registry.get_installed_models_dir([first, second]).parents[2] == first


def test_without_checkout_or_install_there_are_no_project_presets(installed):
    assert km.presets.get_models_dir() is None
    assert all(name.startswith("mohan2020_") for name in km.list_presets())


def test_presets_installed_under_the_prefix_are_listed_and_load(installed):
    folder = installed / "share" / "keras-miyasawa" / "models" / "tiny_gray"
    km.models.DnCNN(depth=3, filters=4).save_to_preset(folder)
    assert km.presets.get_models_dir() == folder.parent
    assert km.list_presets()[0] == "tiny_gray"
    info = km.presets.get_preset_info("tiny_gray")
    assert info["kind"] == "project" and info["path"] == str(folder)
    model = km.from_preset("tiny_gray")
    assert isinstance(model, km.models.DnCNN) and model.depth == 3


def test_the_user_base_is_searched_after_the_prefix(installed, tmp_path):
    folder = tmp_path / "user" / "share" / "keras-miyasawa" / "models"
    folder.mkdir(parents=True)
    assert km.presets.get_models_dir() == folder


def test_environment_variable_still_wins(installed, monkeypatch, tmp_path):
    (installed / "share" / "keras-miyasawa" / "models").mkdir(parents=True)
    monkeypatch.setenv(registry.MODELS_DIR_ENV, str(tmp_path / "mine"))
    assert km.presets.get_models_dir() == tmp_path / "mine"


def test_setup_cfg_installs_every_preset_folder_of_models():
    """Each `models/<name>/` preset has its `[options.data_files]` line."""
    config = configparser.ConfigParser()
    config.read(ROOT / "setup.cfg")
    data_files = {
        key.strip(): value.strip() for key, value in config.items("options.data_files")
    }
    subdir = registry.INSTALLED_MODELS_SUBDIR.as_posix()
    folders = [
        entry.name
        for entry in (ROOT / "models").iterdir()
        if (entry / "config.json").is_file()
    ]
    assert folders, "models/ holds no preset folder"
    for name in folders:
        assert data_files.get(f"{subdir}/{name}") == f"models/{name}/*", name
