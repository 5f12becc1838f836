"""`keras-miyasawa bench` and the samplers of `keras-miyasawa sample`."""

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa import cli
from keras_miyasawa.cli import main

ROOT = Path(__file__).resolve().parents[1]
FAKE_BENCH = """\
import json, sys
print(json.dumps({"argv": sys.argv[1:], "cwd": __import__("os").getcwd()}))
print("to stderr", file=sys.stderr)
sys.exit(3)
"""
# TensorFlow's native start-up lines (glog format) and the absl banner.
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d|^WARNING: All log messages before")


@pytest.fixture(autouse=True)
def env(monkeypatch, tmp_path):
    monkeypatch.setenv("KERAS_MIYASAWA_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("KERAS_MIYASAWA_MODELS_DIR", str(tmp_path / "models"))
    monkeypatch.delenv(cli.BENCHMARKS_DIR_ENV, raising=False)
    monkeypatch.delenv("KERAS_MIYASAWA_DEBUG", raising=False)


def _one_line_error(err, pattern):
    assert err.count("\n") == 1, err
    assert "Traceback" not in err
    assert err.startswith("keras-miyasawa")
    assert pattern in err, err


# --- bench --------------------------------------------------------------------


def test_bench_help(capsys):
    assert main(["bench", "--help"]) == 0
    out = capsys.readouterr().out
    assert "usage: keras-miyasawa bench" in out
    assert "benchmarks/bench.py" in out and "--json" in out and "make bench" in out


def test_bench_runs_the_checkout_script_by_default():
    assert cli._bench_script() == ROOT / "benchmarks" / "bench.py"
    assert cli._bench_script().is_file()


def test_bench_without_a_checkout_is_one_line(capfd, monkeypatch, tmp_path):
    monkeypatch.setenv(cli.BENCHMARKS_DIR_ENV, str(tmp_path))
    assert main(["bench", "--json"]) == 1
    captured = capfd.readouterr()
    assert captured.out == ""
    _one_line_error(captured.err, f"not found at {tmp_path / 'bench.py'}")
    assert "needs a source checkout with benchmarks/bench.py" in captured.err


def test_bench_in_an_installed_package_is_one_line(capfd, monkeypatch, tmp_path):
    # site-packages/keras_miyasawa/cli.py: no setup.cfg beside the package.
    fake = tmp_path / "site-packages" / "keras_miyasawa" / "cli.py"
    monkeypatch.setattr(cli, "__file__", str(fake))
    assert cli._bench_script() is None
    assert main(["bench"]) == 1
    err = capfd.readouterr().err
    _one_line_error(err, str(tmp_path / "site-packages" / "benchmarks"))


def test_bench_forwards_arguments_output_and_exit_status(capfd, monkeypatch, tmp_path):
    (tmp_path / "bench.py").write_text(FAKE_BENCH)
    monkeypatch.setenv(cli.BENCHMARKS_DIR_ENV, str(tmp_path))
    argv = ["--matmul-size", "512", "--json", "--quick"]
    assert main(["bench", *argv]) == 3
    captured = capfd.readouterr()
    assert json.loads(captured.out) == {"argv": argv, "cwd": os.getcwd()}
    assert captured.err == "to stderr\n"


NOISY_BENCH = """\
import sys
err = sys.stderr
print("WARNING: All log messages before absl::InitializeLog() is called", file=err)
print("I0000 00:00:1796424680.597687    4203 port.cc:153] oneDNN", file=err)
print("E0000 00:00:1796424680.597687    4203 bench.cc:1] a real error", file=err)
print("bench says", file=err)
"""


def test_bench_hides_the_child_tensorflow_start_up_lines(capfd, monkeypatch, tmp_path):
    (tmp_path / "bench.py").write_text(NOISY_BENCH)
    monkeypatch.setenv(cli.BENCHMARKS_DIR_ENV, str(tmp_path))
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.delenv("KERAS_MIYASAWA_VERBOSE", raising=False)
    assert main(["bench"]) == 0
    err = capfd.readouterr().err.splitlines()
    assert err == [
        "E0000 00:00:1796424680.597687    4203 bench.cc:1] a real error",
        "bench says",
    ]
    monkeypatch.setenv("KERAS_MIYASAWA_VERBOSE", "1")
    assert main(["bench"]) == 0
    assert len(capfd.readouterr().err.splitlines()) == 4


def test_bench_subprocess_forwards_the_exit_status(tmp_path):
    (tmp_path / "bench.py").write_text(FAKE_BENCH)
    result = subprocess.run(
        [sys.executable, "-m", "keras_miyasawa.cli", "bench", "--json"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, cli.BENCHMARKS_DIR_ENV: str(tmp_path)},
        timeout=300,
    )
    assert result.returncode == 3, result.stderr
    assert json.loads(result.stdout)["argv"] == ["--json"]


def test_other_commands_still_reject_unknown_arguments(capsys):
    assert main(["presets", "list", "--quick"]) == 2
    _one_line_error(capsys.readouterr().err, "unrecognized arguments: --quick")


# --- sample --sampler ---------------------------------------------------------


@pytest.fixture
def tiny(tmp_path):
    """A tiny gray DnCNN preset folder."""
    return km.models.DnCNN(depth=3, filters=4).save_to_preset(tmp_path / "tiny")


def _run_cli(*argv):
    """`python -m keras_miyasawa.cli ARGV`, with TensorFlow's log level unset."""
    env = {k: v for k, v in os.environ.items() if k != "TF_CPP_MIN_LOG_LEVEL"}
    return subprocess.run(
        [sys.executable, "-m", "keras_miyasawa.cli", *map(str, argv)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env=env,
        timeout=300,
    )


@pytest.mark.parametrize(
    "sampler, options, steps",
    [
        ("annealed-langevin", ["--num-levels", 2, "--steps-per-level", 3], 6),
        ("langevin", ["--num-steps", 4, "--sigma", 50], 4),
    ],
)
def test_sample_subprocess_with_each_sampler(tiny, tmp_path, sampler, options, steps):
    out = tmp_path / "samples.npy"
    result = _run_cli(
        "sample", out, "--preset", tiny, "--size", "12x16", "--num", 2,
        "--sampler", sampler, *options, "--seed", 5, "--json",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["sampler"] == sampler and report["seed"] == 5
    assert report["shape"] == [2, 12, 16, 1] and report["num_steps"] == [steps] * 2
    samples = np.load(out)
    assert samples.shape == (2, 12, 16, 1) and np.all(np.isfinite(samples))
    # Quiet start-up: no TensorFlow log lines (the stderr of a pipe has no
    # progress display either).
    assert [line for line in result.stderr.splitlines() if line] == []


@pytest.mark.parametrize("sampler", ["langevin", "annealed-langevin"])
def test_sample_seed_gives_the_same_samples(tiny, tmp_path, capsys, sampler):
    def draw(name, seed):
        path = tmp_path / name
        argv = ["sample", str(path), "--preset", str(tiny), "--size", "8x8"]
        argv += ["--sampler", sampler, "--seed", str(seed), "--num-steps", "3"]
        argv += ["--num-levels", "2", "--steps-per-level", "2"]
        assert main(argv) == 0
        return np.load(path)

    first, again, other = draw("a.npy", 1), draw("b.npy", 1), draw("c.npy", 2)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)
    out = capsys.readouterr().out
    assert f"with {sampler} in" in out and "-> " in out


def test_sample_langevin_divergence_is_one_line(tiny, tmp_path, capsys):
    argv = ["sample", str(tmp_path / "x.npy"), "--preset", str(tiny)]
    argv += ["--size", "8x8", "--sampler", "langevin", "--step-size", "1e6"]
    assert main(argv + ["--num-steps", "20"]) == 1
    _one_line_error(capsys.readouterr().err, "sample_with_denoiser")
    assert not (tmp_path / "x.npy").exists()


def test_sample_sigma_plot_needs_coarse_to_fine(tiny, tmp_path, capsys):
    argv = ["sample", str(tmp_path / "x.npy"), "--preset", str(tiny)]
    argv += ["--sampler", "langevin", "--sigma-plot", str(tmp_path / "s.png")]
    assert main(argv) == 1
    _one_line_error(capsys.readouterr().err, "--sigma-plot needs --sampler")
    assert main(argv[:4] + ["--sampler", "euler"]) == 2
    _one_line_error(capsys.readouterr().err, "invalid choice: 'euler'")


def test_sample_help_lists_the_samplers_and_their_options(capsys):
    assert main(["sample", "--help"]) == 0
    out = capsys.readouterr().out
    for text in ("coarse-to-fine", "annealed-langevin", "langevin", "--seed"):
        assert text in out
    for option in ("--steps-per-level", "--epsilon", "--num-steps", "--decay-rate"):
        assert option in out


def test_ticker_shows_elapsed_seconds_on_a_terminal(monkeypatch, capsys):
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    with cli._Ticker("sampling"):
        pass
    assert capsys.readouterr().err == "sampling 0s\n"
    monkeypatch.setattr(sys.stderr, "isatty", lambda: False)
    with cli._Ticker("sampling"):
        pass
    assert capsys.readouterr().err == ""
