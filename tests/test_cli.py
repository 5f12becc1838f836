import json
import os
import pickle
import re
import subprocess
import sys
import types
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

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


# --- denoise / evaluate / sample / solve --------------------------------------


def _run_cli(*argv):
    """Runs `python -m keras_miyasawa.cli ARGV` as a user would."""
    return subprocess.run(
        [sys.executable, "-m", "keras_miyasawa.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )


def _our_stderr(text):
    """stderr without TensorFlow's native start-up log lines (not ours)."""
    return [
        line
        for line in text.splitlines()
        if line
        and not line.startswith("WARNING: All log messages before absl")
        and not re.match(r"[IWE]\d{4} \d\d:\d\d", line)
    ]


@pytest.fixture
def tiny(tmp_path):
    """A tiny gray preset folder, a gray PNG, a colour JPEG and a gray .npy."""
    preset = km.models.DnCNN(depth=3, filters=4).save_to_preset(tmp_path / "tiny")
    rng = np.random.default_rng(0)
    gray = tmp_path / "gray.png"
    Image.fromarray(np.uint8(rng.uniform(size=(30, 40)) * 255)).save(gray)
    colour = tmp_path / "colour.jpg"
    Image.fromarray(np.uint8(rng.uniform(size=(30, 40, 3)) * 255)).save(colour)
    array = tmp_path / "gray.npy"
    np.save(array, rng.uniform(size=(30, 40, 1)).astype("float32"))
    data = tmp_path / "data"
    data.mkdir()
    for i in range(2):
        Image.fromarray(np.uint8(rng.uniform(size=(24, 24)) * 255)).save(
            data / f"{i}.png"
        )
    return types.SimpleNamespace(
        preset=preset, gray=gray, colour=colour, array=array, data=data, dir=tmp_path
    )


def test_denoise_subprocess_writes_png_and_json(tiny):
    out = tiny.dir / "out.png"
    result = _run_cli(
        "denoise", tiny.gray, out, "--preset", tiny.preset, "--add-noise", 25,
        "--tile", 16, "--overlap", 4, "--seed", 3, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["shape"] == [30, 40, 1] and report["sigma_255"] == 25
    assert 15 < report["noisy_psnr"] < 25  # sigma 25 on [0, 1]: about 20 dB
    assert np.isfinite(report["psnr"]) and report["sigma_hat_255"] > 0
    with Image.open(out) as image:
        assert image.size == (40, 30) and image.mode == "L"


def test_denoise_subprocess_bad_input_is_one_line(tiny):
    out = tiny.dir / "out.png"
    result = _run_cli("denoise", tiny.colour, out, "--preset", tiny.preset)
    assert result.returncode == 1
    lines = _our_stderr(result.stderr)
    assert len(lines) == 1, result.stderr
    assert "has 3 channel(s)" in lines[0] and "Traceback" not in result.stderr
    assert not out.exists()


def test_evaluate_subprocess_json(tiny):
    result = _run_cli(
        "evaluate", "--preset", tiny.preset, "--data", tiny.data,
        "--sigma", "15,50", "--seed", 1, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    payload = json.loads(result.stdout)
    assert payload["images"] == 2 and set(payload["results"]) == {"15", "50"}
    for sigma, row in payload["results"].items():
        expected = 20 * np.log10(255 / float(sigma))
        assert abs(row["input_psnr"] - expected) < 1.5  # clipping helps a little
        assert -1 <= row["ssim"] <= 1 and np.isfinite(row["psnr"])


def test_denoise_npy_tiled_equals_model(tiny, capsys):
    out = tiny.dir / "out.npy"
    argv = ["denoise", str(tiny.array), str(out), "--preset", str(tiny.preset)]
    assert main(argv + ["--tile", "16", "--overlap", "3"]) == 0
    assert "estimated noise level" in capsys.readouterr().out
    model = km.from_preset(tiny.preset)
    expected = np.asarray(model(np.load(tiny.array)[None]))[0]
    np.testing.assert_allclose(np.load(out), expected, atol=1e-4)


def test_denoise_never_overwrites(tiny, capsys):
    out = tiny.dir / "out.png"
    argv = ["denoise", str(tiny.gray), str(out), "--preset", str(tiny.preset)]
    assert main(argv) == 0
    before = out.stat().st_mtime_ns
    capsys.readouterr()
    assert main(argv) == 1
    _one_line_error(capsys, "already exists; pass --overwrite")
    assert out.stat().st_mtime_ns == before
    assert main(argv + ["--overwrite", "--add-noise", "50"]) == 0
    assert out.stat().st_mtime_ns != before
    assert not [p for p in tiny.dir.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize(
    "change, pattern",
    [
        ({"input": "missing.png"}, "No such file: INPUT="),
        ({"input": "junk.png"}, "is not a readable image"),
        ({"input": "colour.jpg"}, "has 3 channel(s) but the preset"),
        ({"preset": "mohan2020_dncnn_bias_free_0-56"}, "Did you mean"),
        ({"extra": ["--add-noise", "300"]}, "--add-noise must be in (0, 255]"),
        ({"extra": ["--add-noise", "-5"]}, "Received: --add-noise=-5.0"),
        ({"output": "out.bmp"}, "OUTPUT must be a png/jpg/jpeg/tif/tiff/npy file"),
        ({"output": "nowhere/out.png"}, "does not exist"),
        ({"extra": ["--tile", "10", "--overlap", "5"]}, "--tile must exceed"),
    ],
)
def test_denoise_bad_input_is_one_line(tiny, capsys, change, pattern):
    (tiny.dir / "junk.png").write_text("not a png")
    argv = [
        "denoise",
        str(tiny.dir / change.get("input", "gray.png")),
        str(tiny.dir / change.get("output", "out.png")),
        "--preset",
        change.get("preset", str(tiny.preset)),
        *change.get("extra", []),
    ]
    assert main(argv) == 1
    _one_line_error(capsys, pattern)
    assert not (tiny.dir / change.get("output", "out.png")).exists()


def test_denoise_usage_errors(capsys):
    assert main(["denoise", "in.png"]) == 2
    _one_line_error(capsys, "OUTPUT")
    assert main(["denoise", "a.png", "b.png", "--tile", "-1"]) == 2
    _one_line_error(capsys, "must be >= 0")


def test_evaluate_table_and_bad_input(tiny, capsys):
    argv = ["evaluate", "--preset", str(tiny.preset), "--data", str(tiny.data)]
    assert main(argv + ["--sigma", "25"]) == 0
    out = capsys.readouterr().out
    assert "noisy PSNR" in out and "SSIM" in out and "2 image(s)" in out
    assert main(argv + ["--sigma", "25,0"]) == 1
    _one_line_error(capsys, "--sigma must be in (0, 255]")
    assert main(argv + ["--sigma", "x"]) == 1
    _one_line_error(capsys, "Received: --sigma='x'")
    (tiny.data / "c.jpg").write_bytes(tiny.colour.read_bytes())
    assert main(argv) == 1
    _one_line_error(capsys, "c.jpg in --data=")
    missing = ["evaluate", "--preset", str(tiny.preset), "--data", "nope"]
    assert main(missing) == 1
    _one_line_error(capsys, "No such folder: --data='nope'")


def test_sample_and_solve(tiny, capsys):
    out = tiny.dir / "samples.npy"
    plot = tiny.dir / "sigma.png"
    common = ["--preset", str(tiny.preset), "--max-steps", "3", "--json"]
    with pytest.warns(RuntimeWarning, match="did not reach"):
        argv = ["sample", str(out), "--size", "12x16", "--num", "2"]
        assert main(argv + ["--sigma-plot", str(plot)] + common) == 0
    report = json.loads(capsys.readouterr().out)
    assert np.load(out).shape == (2, 12, 16, 1) and report["num_steps"] == [3, 3]
    assert plot.stat().st_size > 3000
    assert main(argv + common) == 1
    _one_line_error(capsys, "already exists")

    figure = tiny.dir / "solve.png"
    solution = tiny.dir / "solution.png"
    with pytest.warns(RuntimeWarning, match="did not reach"):
        argv = ["solve", "inpaint", str(tiny.gray), str(solution), "--hole", "5,5,8,8"]
        assert main(argv + ["--figure", str(figure)] + common) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["measurements"] == 30 * 40 - 64 and report["operator"] == "inpaint"
    assert figure.stat().st_size > 5000
    with Image.open(solution) as image:
        assert image.size == (40, 30)
    argv = ["solve", "super-resolution", str(tiny.gray), str(tiny.dir / "s.png")]
    assert main(argv + ["--factor", "7"] + common) == 1
    _one_line_error(capsys, "factor")
    assert main(["solve", "deblur", "a.png", "b.png"]) == 2
    _one_line_error(capsys, "invalid choice: 'deblur'")
