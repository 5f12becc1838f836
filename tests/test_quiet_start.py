"""The command line starts without TensorFlow's native log noise."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from keras_miyasawa import _quiet_start

ROOT = Path(__file__).resolve().parents[1]
CONSOLE_SCRIPT = Path(sys.executable).parent / "keras-miyasawa"
# What TensorFlow 2.21 prints while it loads on a machine without a GPU.
STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1796424680.597687    4203 port.cc:153] oneDNN custom operations are on.
I0000 00:00:1796424680.597911    4203 cudart_stub.cc:31] Could not find cuda drivers \
on your machine, GPU will not be used.
I0000 00:00:1796424680.648278    4203 cpu_feature_guard.cc:227] This TensorFlow binary \
is optimized to use available CPU instructions in performance-critical operations.
To enable the following instructions: AVX2 FMA, in other operations, rebuild \
TensorFlow with the appropriate compiler flags.
W0000 00:00:1796424680.700000    4203 some_file.cc:12] a warning
E0000 00:00:1796424715.955775    4700 cuda_platform.cc:52] failed call to cuInit: \
INTERNAL: CUDA error: Failed call to cuInit: UNKNOWN ERROR (303)
"""
TF_LOG_LINE = re.compile(r"^[IWEF]\d{4} \d\d:\d\d|^WARNING: All log messages before")


def _kept(text, level):
    log_filter = _quiet_start.StartupLogFilter(level)
    return [line for line in text.splitlines() if log_filter.keep(line)]


def test_filter_drops_the_start_up_noise_at_the_default_level():
    assert _kept(STARTUP, 2) == []


def test_filter_honours_the_level_and_keeps_everything_else():
    lines = _kept(STARTUP, 1)
    assert len(lines) == 1 and lines[0].endswith("] a warning")
    other = "E0000 00:00:1796424715.9 4700 allocator.cc:1] out of memory\nTraceback"
    assert _kept(other, 2) == other.splitlines()
    assert _kept("To enable the following instructions: rebuild TensorFlow", 2) == [
        "To enable the following instructions: rebuild TensorFlow"
    ]


def test_filter_keeps_cuinit_errors_when_a_driver_was_found():
    cuinit = STARTUP.splitlines()[-1]
    assert _kept(cuinit, 2) == [cuinit]


def test_filtered_stderr_passes_other_writes_through(capfd):
    with _quiet_start.filtered_stderr(2):
        os.write(2, STARTUP.encode())
        os.write(2, b"a real error\n")
    assert capfd.readouterr().err == "a real error\n"
    print("after", file=sys.stderr)
    assert capfd.readouterr().err == "after\n"


def test_the_library_import_is_not_the_command_line(monkeypatch):
    monkeypatch.setattr(sys, "argv", ["python"])
    monkeypatch.setattr(sys, "orig_argv", ["python", "-c", "..."], raising=False)
    assert not _quiet_start._is_cli()
    monkeypatch.setattr(sys, "argv", ["/venv/bin/keras-miyasawa", "presets"])
    assert _quiet_start._is_cli()
    monkeypatch.setattr(sys, "argv", ["-m"])
    monkeypatch.setattr(sys, "orig_argv", ["python", "-m", "keras_miyasawa.cli"])
    assert _quiet_start._is_cli()


def _run(command, **env):
    base = {
        k: v
        for k, v in os.environ.items()
        if k not in ("TF_CPP_MIN_LOG_LEVEL", _quiet_start.VERBOSE_ENV)
    }
    return subprocess.run(
        [*command, "presets", "list"],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**base, **env},
        timeout=300,
    )


def test_console_script_presets_list_is_quiet():
    if not CONSOLE_SCRIPT.is_file():
        pytest.skip(f"no console script at {CONSOLE_SCRIPT} (package not installed)")
    result = _run([str(CONSOLE_SCRIPT)])
    assert result.returncode == 0, result.stderr
    assert "mohan2020_dncnn_bias_free_0-55" in result.stdout
    assert result.stderr == ""


def test_verbose_shows_tensorflow_start_up_lines():
    result = _run(
        [sys.executable, "-m", "keras_miyasawa.cli"], KERAS_MIYASAWA_VERBOSE="1"
    )
    assert result.returncode == 0, result.stderr
    assert any(TF_LOG_LINE.match(line) for line in result.stderr.splitlines())


@pytest.mark.parametrize(
    "argv, verbose",
    [
        (["keras-miyasawa", "--verbose", "presets", "list"], True),
        (["keras-miyasawa", "presets", "list"], False),
        # `train --verbose 2` is train's progress level, not the log switch.
        (["keras-miyasawa", "train", "--data", "d", "--verbose", "2"], False),
    ],
)
def test_only_the_top_level_verbose_flag_shows_the_log(monkeypatch, argv, verbose):
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.setenv("TF_CPP_MIN_LOG_LEVEL", "2")
    monkeypatch.delenv("KERAS_MIYASAWA_VERBOSE", raising=False)
    assert _quiet_start._is_verbose() is verbose
