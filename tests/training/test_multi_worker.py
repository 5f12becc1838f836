import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

REPO = Path(__file__).resolve().parents[2]
JOB = Path(__file__).with_name("_multi_worker_job.py")
TIMEOUT_S = 120
WORKERS = 2


def _free_ports(count):
    sockets = [socket.socket(socket.AF_INET, socket.SOCK_STREAM) for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def _start(tmp_path, name, extra_args=()):
    env = {**os.environ, "PYTHONPATH": str(REPO), "TF_CPP_MIN_LOG_LEVEL": "3"}
    env.pop("TF_CONFIG", None)
    log = open(tmp_path / f"{name}.log", "w")
    process = subprocess.Popen(
        [sys.executable, str(JOB), "--weights", str(tmp_path / f"{name}.npz")]
        + ["--work-dir", str(tmp_path / name), *extra_args],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
    )
    process.log = log
    return process


def _wait_all(processes, tmp_path):
    """Waits for all (killing all on a failure or after TIMEOUT_S); the failure."""
    deadline = time.monotonic() + TIMEOUT_S
    failure = None
    while failure is None and any(p.poll() is None for p in processes.values()):
        if time.monotonic() > deadline:
            failure = f"timed out after {TIMEOUT_S} s"
        for name, p in processes.items():
            if p.poll() not in (None, 0):
                failure = f"{name} exited with {p.returncode}"
        time.sleep(0.2)
    for p in processes.values():
        if p.poll() is None:
            p.kill()  # A worker left alone waits for its peer's collectives.
        p.wait()
        p.log.close()
    if failure is None and any(p.returncode for p in processes.values()):
        failure = "a process failed"
    if failure is None:
        return None
    logs = "\n".join(
        f"--- {name} (rc={p.returncode}) ---\n"
        + (tmp_path / f"{name}.log").read_text()[-3000:]
        for name, p in processes.items()
    )
    return f"{failure}\n{logs}"


def _load(path):
    with np.load(path) as data:
        return [data[k] for k in sorted(data.files, key=lambda k: int(k[4:]))]


def test_multi_worker_mirrored_strategy_matches_one_device(tmp_path):
    try:
        ports = _free_ports(WORKERS)
    except OSError as error:
        pytest.skip(f"cannot bind a port on 127.0.0.1: {error}")
    ports = ",".join(map(str, ports))
    processes = {"single": _start(tmp_path, "single")}
    for index in range(WORKERS):
        processes[f"worker{index}"] = _start(
            tmp_path,
            f"worker{index}",
            ["--ports", ports, "--worker-index", str(index)],
        )
    failure = _wait_all(processes, tmp_path)
    assert failure is None, failure

    single = _load(tmp_path / "single.npz")
    single_loss = json.loads((tmp_path / "single.npz.json").read_text())["loss"]
    for index in range(WORKERS):
        weights = _load(tmp_path / f"worker{index}.npz")
        assert len(weights) == len(single)
        for a, b in zip(weights, single):
            np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
        # The logged loss is the mean over all replicas, i.e. over the global batch.
        loss = json.loads((tmp_path / f"worker{index}.npz.json").read_text())["loss"]
        np.testing.assert_allclose(loss, single_loss, rtol=1e-4)
    # The weights moved (the epochs' losses differ): not a comparison of two inits.
    assert len(single_loss) == 2 and single_loss[0] != single_loss[1]
    assert (tmp_path / "worker1" / "last.weights.h5").exists()
