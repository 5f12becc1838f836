"""Keeps the `keras-miyasawa` command quiet while TensorFlow starts.

Importing TensorFlow writes log lines to stderr that are noise on the command
line: the absl banner ("WARNING: All log messages before absl::InitializeLog()
is called are written to STDERR"), INFO lines from static initializers
(oneDNN, "Could not find cuda drivers", the CPU-instructions notice) and, on a
machine without an NVIDIA driver, "failed call to cuInit". TensorFlow honours
`TF_CPP_MIN_LOG_LEVEL` only after absl's logging is initialized, so the
static initializers' INFO lines print at any level, straight to file
descriptor 2 from C++.

For the command line only (`keras-miyasawa ...` or `python -m
keras_miyasawa.cli ...`; importing the library changes nothing), this module
sets `TF_CPP_MIN_LOG_LEVEL=2` unless the user set it, and imports TensorFlow
with file descriptor 2 passed through a filter that drops exactly those
lines: glog-format lines below the minimum level, the absl banner, the
continuation of the CPU-instructions notice, and the cuInit error when
TensorFlow has just said that there is no CUDA driver. Everything else goes
through unchanged. `KERAS_MIYASAWA_VERBOSE=1`, `--verbose` or
`TF_CPP_MIN_LOG_LEVEL=0` show everything. `quiet_child_process` applies the
same filter to a child process the command starts (`bench`).

Only the standard library is imported here: this runs before TensorFlow.
"""

import contextlib
import os
import re
import sys
import threading

VERBOSE_ENV = "KERAS_MIYASAWA_VERBOSE"
# The level the command line runs TensorFlow at unless the user chose one:
# INFO and WARNING hidden, ERROR shown.
DEFAULT_LOG_LEVEL = "2"

# glog/absl: "I0000 00:00:1796424680.597687    4203 port.cc:153] message".
_LOG_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:[\d.]+\s+\d+ \S+:\d+\] ")
_BANNER = "WARNING: All log messages before absl::InitializeLog() is called"
_CPU_NOTICE_CONTINUATION = re.compile(
    r"^To enable the following instructions: .*rebuild TensorFlow"
)
_NO_DRIVER = "Could not find cuda drivers on your machine"
_CUINIT = "failed call to cuInit"
_SEVERITY = {"I": 0, "W": 1, "E": 2, "F": 3}


class StartupLogFilter:
    """Decides, line by line, which start-up lines reach stderr."""

    def __init__(self, min_level):
        self.min_level = min_level
        self.no_driver = False
        self._dropped_cpu_notice = False

    def keep(self, line):
        """Whether `line` (without its newline) is shown."""
        after_cpu_notice = self._dropped_cpu_notice
        self._dropped_cpu_notice = False
        if line.startswith(_BANNER):
            return False
        if after_cpu_notice and _CPU_NOTICE_CONTINUATION.match(line):
            return False
        match = _LOG_LINE.match(line)
        if match is None:
            return True
        if _NO_DRIVER in line:
            self.no_driver = True
        if _CUINIT in line and self.no_driver:
            # Expected without a driver; already said (and hidden) above.
            return False
        if _SEVERITY[match.group(1)] >= self.min_level:
            return True
        self._dropped_cpu_notice = "cpu_feature_guard" in line
        return False


@contextlib.contextmanager
def filtered_stderr(min_level):
    """Passes what is written to file descriptor 2 through `StartupLogFilter`.

    A thread forwards the kept lines to the real stderr as they come, so
    nothing is held back if the process dies meanwhile.
    """
    sys.stderr.flush()
    saved = os.dup(2)
    read_end, write_end = os.pipe()
    log_filter = StartupLogFilter(min_level)

    def forward():
        with os.fdopen(read_end, "rb") as pipe:
            for raw in pipe:
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if log_filter.keep(line):
                    os.write(saved, raw)

    thread = threading.Thread(target=forward, daemon=True)
    thread.start()
    os.dup2(write_end, 2)
    os.close(write_end)
    try:
        yield log_filter
    finally:
        sys.stderr.flush()
        os.dup2(saved, 2)  # closes the last write end: the thread sees EOF
        thread.join()
        os.close(saved)


def _is_cli():
    argv = getattr(sys, "argv", None) or [""]
    name = os.path.basename(argv[0])
    if name.removesuffix(".exe") == "keras-miyasawa":
        return True
    argv = getattr(sys, "orig_argv", [])  # Python >= 3.10
    return "-m" in argv[:-1] and argv[argv.index("-m") + 1] == "keras_miyasawa.cli"


def _min_level():
    try:
        return int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", DEFAULT_LOG_LEVEL))
    except ValueError:
        return int(DEFAULT_LOG_LEVEL)


def _is_verbose():
    if os.environ.get(VERBOSE_ENV, "") not in ("", "0"):
        return True
    if _min_level() == 0:
        return True
    # The top-level `--verbose` comes before the sub-command (`train` has a
    # `--verbose N` of its own).
    for arg in getattr(sys, "argv", [])[1:]:
        if not arg.startswith("-"):
            return False
        if arg == "--verbose":
            return True
    return False


def quiet_tensorflow_start():
    """Imports TensorFlow quietly when running the command line; else no-op."""
    if "tensorflow" in sys.modules or not _is_cli():
        return
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", DEFAULT_LOG_LEVEL)
    if _is_verbose():
        return
    with filtered_stderr(_min_level()):
        import tensorflow as tf

        # Initializes the devices now, inside the filter: that is when cuInit
        # reports a missing driver.
        tf.config.list_physical_devices()


@contextlib.contextmanager
def quiet_child_process():
    """Filters the start-up lines of a TensorFlow child process we start.

    The child writes to our file descriptor 2; inside this context its lines
    go through the same `StartupLogFilter` as our own start (nothing is
    filtered when verbose).
    """
    if _is_verbose():
        yield
        return
    with filtered_stderr(_min_level()):
        yield


quiet_tensorflow_start()
