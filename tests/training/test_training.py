import argparse
import os
import subprocess
import sys
from pathlib import Path

import keras
import numpy as np
import pytest
from PIL import Image

import keras_miyasawa as km
from keras_miyasawa.training import train_command

REPO = Path(__file__).resolve().parents[2]
WORKER = Path(__file__).with_name("train_worker.py")


def _train(tmp_path, name, mode="single", kill_after=0, work_dir=None):
    weights = tmp_path / f"{name}.npz"
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    result = subprocess.run(
        [sys.executable, str(WORKER), "--mode", mode, "--weights", str(weights)]
        + ["--work-dir", str(work_dir or tmp_path / name)]
        + (["--kill-after", str(kill_after)] if kill_after else []),
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    return result, weights


def _load(path):
    with np.load(path) as data:
        return [data[k] for k in sorted(data.files, key=lambda k: int(k[4:]))]


@pytest.fixture(scope="module")
def single_device_weights(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("single")
    result, weights = _train(tmp_path, "single")
    assert result.returncode == 0, result.stderr[-3000:]
    return _load(weights)


def test_mirrored_strategy_on_two_cpus_matches_one_device(
    tmp_path, single_device_weights
):
    result, weights = _train(tmp_path, "mirrored", mode="mirrored")
    assert result.returncode == 0, result.stderr[-3000:]
    mirrored = _load(weights)
    assert len(mirrored) == len(single_device_weights)
    for a, b in zip(mirrored, single_device_weights):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_killed_run_resumes_to_the_uninterrupted_weights(
    tmp_path, single_device_weights
):
    work_dir = tmp_path / "resumed"
    # 3 epochs of 3 steps: killed in the middle of the second epoch.
    killed, weights = _train(tmp_path, "resumed", kill_after=5, work_dir=work_dir)
    assert killed.returncode == 3, killed.stderr[-3000:]
    assert not weights.exists()
    assert km.training.completed_epochs(work_dir) == 1
    resumed, weights = _train(tmp_path, "resumed", work_dir=work_dir)
    assert resumed.returncode == 0, resumed.stderr[-3000:]
    assert (weights.parent / "resumed.npz.json").read_text() == '{"epochs_run": 2}'
    for a, b in zip(_load(weights), single_device_weights):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def _parse(argv):
    parser = argparse.ArgumentParser(prog="keras-miyasawa")
    train_command.add_parser(parser.add_subparsers(dest="command"))
    return parser.parse_args(["train", *argv])


def _image_folder(tmp_path):
    """Three random 24x24 gray PNGs in tmp_path/images."""
    data = tmp_path / "images"
    data.mkdir()
    rng = np.random.default_rng(0)
    for i in range(3):
        image = (rng.uniform(size=(24, 24)) * 255).astype("uint8")
        Image.fromarray(image).save(data / f"{i}.png")
    return data


def test_train_command_writes_a_loadable_preset(tmp_path, capsys):
    data = _image_folder(tmp_path)
    out = tmp_path / "preset"
    argv = [
        "--data", str(data), "--arch", "dncnn", "--channels", "1",
        "--sigma-range", "0,55", "--patch-size", "16", "--batch-size", "4",
        "--steps", "2", "--epochs", "1", "--depth", "3", "--filters", "4",
        "--out", str(out), "--verbose", "0",
    ]  # fmt: skip
    assert train_command.run(_parse(argv)) == 0
    model = km.from_preset(out)
    assert (model.depth, model.filters, model.bias_free) == (3, 4, True)
    assert (tmp_path / "preset.training" / "last.weights.h5").exists()
    # An existing preset is not replaced without --overwrite.
    assert train_command.run(_parse(argv)) == 2
    assert "--overwrite" in capsys.readouterr().err


def test_train_command_sigma_range_is_in_0_255_units(capsys):
    assert train_command.parse_sigma_range("0,55") == pytest.approx((0, 55 / 255))
    args = _parse(["--data", "x", "--out", "y", "--sigma-range", "55"])
    assert train_command.run(args) == 2
    assert "--sigma-range='55'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="0 <= MIN <= MAX <= 255"):
        train_command.parse_sigma_range("0,300")
    parser = argparse.ArgumentParser(prog="keras-miyasawa")
    train_command.add_parser(parser.add_subparsers())
    help_text = parser._subparsers._group_actions[0].choices["train"].format_help()
    assert "0-255 units" in help_text


def test_build_denoiser_rejects_unknown_arch():
    with pytest.raises(ValueError, match="arch='resnet'"):
        km.training.build_denoiser("resnet")


def test_fine_tuning_starts_from_initial_weights(tmp_path):
    source = km.models.DnCNN(depth=3, filters=4)
    source.save_to_preset(tmp_path / "source")
    images = np.random.default_rng(0).uniform(size=(4, 24, 24, 1))
    kwargs = dict(patch_size=16, batch_size=4, steps_per_epoch=1, epochs=1, verbose=0)
    model, _ = km.training.train_denoiser(
        images,
        tmp_path / "work",
        model_kwargs={"depth": 3, "filters": 4},
        learning_rate=1e-9,  # one negligible step: the weights stay the source's
        initial_weights=str(tmp_path / "source"),
        **kwargs,
    )
    # Trainable weights only: the batch-norm moving variances follow the data.
    for trained, original in zip(model.trainable_weights, source.trainable_weights):
        np.testing.assert_allclose(trained.numpy(), original.numpy(), atol=1e-6)
    with pytest.raises(ValueError, match="initial_weights"):
        km.training.train_denoiser(
            images,
            tmp_path / "work2",
            model_kwargs={"depth": 4, "filters": 4},
            initial_weights=str(tmp_path / "source"),
            **kwargs,
        )


def test_mixed_bfloat16_training_returns_a_float32_model(tmp_path):
    data = _image_folder(tmp_path)
    argv = [
        "--data", str(data), "--patch-size", "16", "--batch-size", "4",
        "--steps", "3", "--epochs", "1", "--depth", "3", "--filters", "4",
        "--precision", "mixed_bfloat16", "--verbose", "0",
    ]  # fmt: skip
    assert train_command.run(_parse([*argv, "--out", str(tmp_path / "half")])) == 0
    half = km.from_preset(tmp_path / "half")
    assert half.dtype_policy.name == "float32"
    # The same run in float32: bfloat16 compute moves the weights about as much.
    argv[argv.index("mixed_bfloat16")] = "float32"
    assert train_command.run(_parse([*argv, "--out", str(tmp_path / "full")])) == 0
    full = km.from_preset(tmp_path / "full")
    keras.utils.set_random_seed(0)  # the initial weights of both runs (seed 0)
    initial = km.training.build_denoiser("dncnn", depth=3, filters=4)
    for h, f in zip(half.trainable_weights, full.trainable_weights):
        assert np.all(np.isfinite(h.numpy()))
        np.testing.assert_allclose(h.numpy(), f.numpy(), atol=5e-4)
    moved = [
        np.abs(f.numpy() - i.numpy()).max()
        for f, i in zip(full.trainable_weights, initial.trainable_weights)
    ]
    assert min(moved) > 1e-3  # the runs trained: the tolerance above is tight
    with pytest.raises(ValueError, match="precision='float16'"):
        km.training.train_denoiser(
            data, tmp_path / "work", precision="float16", verbose=0
        )
