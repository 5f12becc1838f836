"""`keras-miyasawa denoise` on a folder, and its inference flags."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import keras_miyasawa as km
from keras_miyasawa.cli import main

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def preset_env(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_MIYASAWA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_MIYASAWA_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv("KERAS_MIYASAWA_DEBUG", raising=False)


@pytest.fixture
def preset(tmp_path):
    return km.models.DnCNN(depth=3, filters=4).save_to_preset(tmp_path / "tiny")


@pytest.fixture
def folder(tmp_path):
    rng = np.random.default_rng(0)
    root = tmp_path / "in"
    root.mkdir()
    for name, size in [("a", (20, 24)), ("b", (20, 24)), ("c", (16, 16))]:
        pixels = np.uint8(rng.uniform(0.2, 0.8, size=size) * 255)
        Image.fromarray(pixels).save(root / f"{name}.png")
    return root


def _one_line_error(capsys, pattern):
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    assert pattern in err and "Traceback" not in err


def test_folder_subprocess_with_jit_and_bfloat16(preset, folder, tmp_path):
    out = tmp_path / "out"
    result = subprocess.run(
        [
            sys.executable, "-m", "keras_miyasawa.cli", "denoise", str(folder),
            str(out), "--preset", str(preset), "--batch-size", "2", "--jit",
            "--precision", "mixed_bfloat16", "--add-noise", "25", "--seed", "1",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["images"] == 3 and report["images_per_second"] > 0
    assert report["jit_compile"] and report["precision"] == "mixed_bfloat16"
    assert 18 < report["noisy_psnr"] < 23 and np.isfinite(report["psnr"])
    assert [Path(r["output"]).name for r in report["results"]] == [
        "a.png", "b.png", "c.png",
    ]  # fmt: skip
    with Image.open(out / "c.png") as image:
        assert image.size == (16, 16) and image.mode == "L"


def test_folder_matches_library_and_never_overwrites(preset, folder, tmp_path, capsys):
    out = tmp_path / "out"
    argv = ["denoise", str(folder), str(out), "--preset", str(preset)]
    assert main(argv + ["--format", "npy", "--batch-size", "3"]) == 0
    assert "Denoised 3 image(s)" in capsys.readouterr().out
    model = km.from_preset(preset)
    for path in sorted(folder.iterdir()):
        expected = np.asarray(model(km.image_io.read_image(path)[None]))[0]
        np.testing.assert_allclose(
            np.load(out / f"{path.stem}.npy"), expected, atol=1e-5
        )
    before = (out / "a.npy").stat().st_mtime_ns
    assert main(argv + ["--format", "npy"]) == 1
    _one_line_error(capsys, "3 output file(s) already exist")
    assert (out / "a.npy").stat().st_mtime_ns == before
    assert main(argv + ["--format", "npy", "--overwrite", "--no-fold"]) == 0
    assert (out / "a.npy").stat().st_mtime_ns != before


@pytest.mark.parametrize(
    "output, extra, pattern",
    [
        ("out.png", [], "OUTPUT must be a folder"),
        ("out", ["--add-noise", "300"], "--add-noise must be in (0, 255]"),
        ("out", ["--batch-size", "0"], "--batch-size must be >= 1"),
    ],
)
def test_folder_errors_are_one_line(
    preset, folder, tmp_path, capsys, output, extra, pattern
):
    argv = ["denoise", str(folder), str(tmp_path / output), "--preset", str(preset)]
    assert main(argv + extra) == 1
    _one_line_error(capsys, pattern)
    assert not (tmp_path / output).exists()


def test_folder_unreadable_and_colour_files_are_named(preset, folder, tmp_path, capsys):
    argv = ["denoise", str(folder), str(tmp_path / "out"), "--preset", str(preset)]
    (folder / "junk.png").write_text("not a png")
    assert main(argv) == 1
    _one_line_error(capsys, "junk.png' is not a readable image")
    (folder / "junk.png").unlink()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "rgb.png")
    assert main(argv + ["--overwrite"]) == 1
    _one_line_error(capsys, "rgb.png' has 3 channel(s)")
    empty = tmp_path / "empty"
    empty.mkdir()
    assert (
        main(["denoise", str(empty), str(tmp_path / "o"), "--preset", str(preset)]) == 1
    )
    _one_line_error(capsys, "holds no png/jpg")


@pytest.mark.parametrize(
    "flags",
    [["--tile", "0"], ["--tile", "0", "--jit"], ["--tile", "16", "--overlap", "3"]],
)
def test_single_image_flags_match_model(preset, tmp_path, capsys, flags):
    array = np.random.default_rng(1).uniform(size=(30, 40, 1)).astype("float32")
    np.save(tmp_path / "y.npy", array)
    out = tmp_path / "x.npy"
    argv = ["denoise", str(tmp_path / "y.npy"), str(out), "--preset", str(preset)]
    assert main(argv + flags + ["--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["fold"] and report["jit_compile"] == ("--jit" in flags)
    expected = np.asarray(km.from_preset(preset)(array[None]))[0]
    np.testing.assert_allclose(np.load(out), expected, atol=1e-5)


def test_single_image_bfloat16_is_close(preset, tmp_path, capsys):
    array = np.random.default_rng(1).uniform(size=(24, 24, 1)).astype("float32")
    np.save(tmp_path / "y.npy", array)
    out = tmp_path / "x.npy"
    argv = ["denoise", str(tmp_path / "y.npy"), str(out), "--preset", str(preset)]
    assert (
        main(argv + ["--precision", "mixed_bfloat16", "--tile", "16", "--overlap", "3"])
        == 0
    )
    expected = np.asarray(km.from_preset(preset)(array[None]))[0]
    difference = np.abs(np.load(out) - expected).max()
    assert 0 < difference < 0.05
    assert main(argv + ["--precision", "float16"]) == 2
    assert "invalid choice" in capsys.readouterr().err
