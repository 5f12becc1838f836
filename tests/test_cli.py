import json
import os
import pickle
import subprocess
import sys
from pathlib import Path

import pytest

import keras_miyasawa as km
from keras_miyasawa.cli import main

ROOT = Path(__file__).resolve().parents[1]
CHECKPOINTS = ROOT / ".." / "shared" / "reference" / "checkpoints"
UNET_BF_10 = CHECKPOINTS / "unet" / "bias_free" / "0-10.pt"


@pytest.fixture(autouse=True)
def preset_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_MIYASAWA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_MIYASAWA_CHECKPOINT_DIR", str(CHECKPOINTS))
    monkeypatch.setenv("KERAS_MIYASAWA_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("KERAS_MIYASAWA_DEBUG", raising=False)


@pytest.fixture
def checkpoint():
    if not UNET_BF_10.is_file():
        pytest.skip("../shared/reference/checkpoints is absent")
    return UNET_BF_10


def _one_line_error(capsys, pattern):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert err.startswith("keras-miyasawa")
    assert pattern in err, err


def test_presets_list(capsys):
    assert main(["presets", "list"]) == 0
    out = capsys.readouterr().out
    assert "mohan2020_dncnn_bias_free_0-55" in out
    assert "0-55" in out and "667,008" in out
    assert "32.67/30.34/27.18" in out  # the measured Set12 PSNR


def test_presets_list_json_and_filter(capsys):
    assert main(["presets", "list", "--json", "--architecture", "unet"]) == 0
    infos = json.loads(capsys.readouterr().out)
    assert len(infos) == 8
    assert {info["architecture"] for info in infos} == {"unet"}


def test_presets_show(capsys):
    assert main(["presets", "show", "mohan2020_unet_bias_0-30"]) == 0
    out = capsys.readouterr().out
    assert "architecture: unet" in out
    assert "bias_free: False" in out
    assert main(["presets", "show", "--json", "mohan2020_unet_bias_0-30"]) == 0
    assert json.loads(capsys.readouterr().out)["kind"] == "reference"


def test_unknown_preset_is_one_error_line(capsys):
    assert main(["presets", "show", "mohan2020_unet_bias_0-31"]) == 1
    _one_line_error(capsys, "Did you mean mohan2020_unet_bias_0-30")


@pytest.mark.parametrize(
    "argv, pattern",
    [
        ([], "required: COMMAND"),
        (["presets"], "required: ACTION"),
        (["presets", "import", "x.pt"], "--out"),
        (["presets", "list", "--architecture", "vgg"], "invalid choice: 'vgg'"),
        (["frobnicate"], "invalid choice: 'frobnicate'"),
    ],
)
def test_usage_errors_are_one_line(capsys, argv, pattern):
    assert main(argv) == 2
    _one_line_error(capsys, pattern)


def test_presets_import_and_never_overwrite(capsys, tmp_path, checkpoint):
    out_dir = tmp_path / "bf_unet"
    assert main(["presets", "import", str(checkpoint), "--out", str(out_dir)]) == 0
    assert "bias-free UNet" in capsys.readouterr().out
    model = km.from_preset(out_dir)
    assert isinstance(model, km.models.UNet) and model.is_bias_free
    meta = km.presets.load_preset_metadata(out_dir)
    assert meta["training_noise_range_255"] == [0.0, 10.0]

    before = {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()}
    assert main(["presets", "import", str(checkpoint), "--out", str(out_dir)]) == 1
    _one_line_error(capsys, "already exists; pass --overwrite")
    assert {p.name: p.stat().st_mtime_ns for p in out_dir.iterdir()} == before

    argv = ["presets", "import", str(checkpoint), "--out", str(out_dir)]
    assert main(argv + ["--overwrite"]) == 0


def test_presets_import_checks_sha256_and_architecture(capsys, tmp_path, checkpoint):
    out_dir = tmp_path / "p"
    argv = ["presets", "import", str(checkpoint), "--out", str(out_dir)]
    assert main(argv + ["--sha256", "0" * 64]) == 1
    _one_line_error(capsys, "sha256 mismatch")
    assert main(argv + ["--architecture", "dncnn"]) == 1
    _one_line_error(capsys, "unet state dict")
    assert not out_dir.exists()


def test_presets_import_bad_files(capsys, tmp_path):
    out_dir = tmp_path / "p"
    assert main(["presets", "import", str(tmp_path / "no.pt"), "--out", "x"]) == 1
    _one_line_error(capsys, "No checkpoint file")
    evil = tmp_path / "evil.pt"
    evil.write_bytes(pickle.dumps(os.system, protocol=2))
    assert main(["presets", "import", str(evil), "--out", str(out_dir)]) == 1
    _one_line_error(capsys, "Refusing to load the global")
    assert not out_dir.exists()


def test_module_entry_point():
    result = subprocess.run(
        [sys.executable, "-m", "keras_miyasawa.cli", "presets", "list"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr
    assert "mohan2020_unet_bias_free_0-100" in result.stdout
