"""Speed of keras-miyasawa on this machine, against the machine's own limit.

One run measures and prints (issue 7):

(a) float32 matmul peak: a large square `tf.matmul`, best of several, GFLOP/s;
(b) BF-DnCNN (depth 20, 64 filters) inference on a 481x321 gray image, as
    GFLOP/s (convolution FLOPs counted analytically: 2 k^2 c_in c_out per
    output pixel and layer) and as a fraction of (a), as built (batch norm)
    and after `keras_miyasawa.models.fold_batch_norm`, in graph mode and with
    XLA (`jit_compile=True`);
(c) the same for a plain Keras DnCNN of the same size (`Conv2D(use_bias=False)`
    + ReLU, no normalization);
(d) the same model in PyTorch eager, when `torch` is importable (skipped
    otherwise; it is an optional extra, never installed by this script);
(e) coarse-to-fine sampler chain-iterations per second at 40x40, 1 and 16
    chains, compiled vs an eager loop (`benchmarks/sampler_speed.py`);
(f) training patches per second (`benchmarks/training_throughput.py`);
(g) peak resident memory of tiled denoising of a 4000x3000 gray image
    (`keras_miyasawa.tiling.denoise_tiled`), in a child process. By default
    the network is a narrow DnCNN (depth 20, 8 filters) so that this step
    takes seconds, not the ~10 minutes the 64-filter network needs on 2 cores;
    `--tiled-filters 64` measures the full one.

(a), (b), (c) and (d) are timed in interleaved rounds: every variant is run
once untimed (tracing, compilation, first allocation), then each round times
every variant once, and each figure is the best of its rounds, so that a change
of load during the run hits all variants alike (as in `sampler_speed.py`).

Every step prints as it finishes; `--json` prints one JSON object at the end.

    python benchmarks/bench.py [--json] [--quick] [--no-xla]
"""

import argparse
import datetime
import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_miyasawa as km  # noqa: E402

IMAGE_SHAPE = (1, 321, 481, 1)  # 481x321 (width x height), BSD68-sized
DEPTH, FILTERS = 20, 64
TARGETS = {
    "bf_dncnn_over_matmul_peak": 0.85,
    "bf_dncnn_over_plain_keras": 0.95,
    "bf_dncnn_over_pytorch": 2.0,
}


def log(*args):
    print(*args, file=sys.stderr, flush=True)


def machine():
    try:
        lscpu = subprocess.run(["lscpu"], capture_output=True, text=True).stdout
        info = dict(line.split(":", 1) for line in lscpu.splitlines() if ":" in line)
        cpu = info.get("Model name", "").strip()
        flags = info.get("Flags", "")
    except OSError:
        cpu, flags = platform.processor(), ""
    isa = [f for f in ("avx2", "avx512f", "avx512_bf16", "amx_tile") if f in flags]
    return {
        "cpu": cpu or platform.machine(),
        "cores": os.cpu_count(),
        "isa": isa,
        "platform": platform.platform(),
        "load_average_at_start": os.getloadavg(),
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
    }


def interleaved_best_times(fns, rounds):
    """Best wall time of each callable in `fns` (a dict), timed in turns.

    Each is called once untimed (tracing, compilation, first allocation); then
    every round times each of them once, so that a change of load during the
    run affects them alike.
    """
    for fn in fns.values():
        fn()
    best = dict.fromkeys(fns, float("inf"))
    for _ in range(rounds):
        for name, fn in fns.items():
            start = time.perf_counter()
            fn()
            best[name] = min(best[name], time.perf_counter() - start)
    return best


# --- (a) ---------------------------------------------------------------------


def matmul_fn(size):
    a = tf.random.normal((size, size))
    b = tf.random.normal((size, size))
    matmul = tf.function(lambda: tf.matmul(a, b))
    return lambda: matmul().numpy()


# --- (b), (c), (d) -------------------------------------------------------------


def dncnn_flops(height, width, depth=DEPTH, filters=FILTERS, channels=1, k=3):
    """Multiply-adds x 2 of the convolutions ("same" padding, stride 1)."""
    per_pixel = (
        k * k * channels * filters
        + (depth - 2) * k * k * filters * filters
        + k * k * filters * channels
    )
    return 2 * per_pixel * height * width


def plain_keras_dncnn(depth=DEPTH, filters=FILTERS):
    """The usual Keras DnCNN without normalization: Conv2D (no bias) + ReLU."""
    inputs = keras.Input((None, None, 1))
    x = inputs
    for _ in range(depth - 1):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(1, 3, padding="same", use_bias=False)(x)
    return keras.Model(inputs, keras.layers.Add()([inputs, x]))


def inference_fn(model, y, jit_compile):
    fn = tf.function(lambda y: model(y, training=False), jit_compile=jit_compile)
    return lambda: fn(y).numpy()


def torch_dncnn_fn(y):
    """(callable, info) for the network in PyTorch eager, or (None, reason)."""
    try:
        import torch
    except ImportError:
        return None, {"available": False, "reason": "torch is not importable"}
    from torch import nn

    layers = [nn.Conv2d(1, FILTERS, 3, padding=1, bias=False), nn.ReLU()]
    for _ in range(DEPTH - 2):
        layers += [
            nn.Conv2d(FILTERS, FILTERS, 3, padding=1, bias=False),
            nn.BatchNorm2d(FILTERS, affine=True, track_running_stats=True),
            nn.ReLU(),
        ]
    layers.append(nn.Conv2d(FILTERS, 1, 3, padding=1, bias=False))
    net = nn.Sequential(*layers).eval()
    x = torch.from_numpy(np.ascontiguousarray(y.transpose(0, 3, 1, 2)))

    def run():
        with torch.no_grad():
            return x - net(x)

    info = {
        "available": True,
        "torch": torch.__version__,
        "threads": torch.get_num_threads(),
    }
    return run, info


# --- (e), (f) ------------------------------------------------------------------


def sampler_rates(iterations, repeats):
    try:
        import sampler_speed
    except ImportError as error:  # keras_miyasawa.samplers not there yet
        return {"available": False, "reason": f"{error}"}
    if sampler_speed.CHECKPOINT.is_file():
        model = km.presets.import_torch_checkpoint(str(sampler_speed.CHECKPOINT))
    else:
        model = km.models.DnCNN()
    model = km.models.fold_batch_norm(model)
    rates = {
        "image": f"{sampler_speed.SIZE}x{sampler_speed.SIZE} gray",
        "iterations": iterations,
        "eager_1_chain": sampler_speed.best_rate(
            sampler_speed.eager_loop(model, iterations), 1, iterations, repeats
        ),
    }
    for chains in (1, 16):
        run, first_call = sampler_speed.compiled(model, chains, iterations, False)
        rates[f"compiled_{chains}_chains"] = sampler_speed.best_rate(
            run, chains, iterations, repeats, warm_up=False
        )
        rates[f"compiled_{chains}_chains_first_call_s"] = first_call
    rates["available"] = True
    rates["units"] = "chain-iterations/s (BF-DnCNN 20x64, batch norm folded)"
    return rates


def training_rate(batch_size, steps):
    import training_throughput

    rng = np.random.default_rng(0)
    n = batch_size * (steps + 2)
    clean = rng.uniform(size=(n, 40, 40, 1)).astype("float32")
    noisy = clean + (25 / 255) * rng.normal(size=clean.shape).astype("float32")
    model = km.models.DnCNN()
    model.compile(optimizer="adam", loss="mse")
    rate = training_throughput.patches_per_second(
        model, noisy, clean, batch_size, steps
    )
    return {
        "model": "BF-DnCNN 20x64 with batch norm, Adam, MSE",
        "batch": f"{batch_size} x 40x40x1",
        "steps": steps,
        "patches_per_second": rate,
    }


# --- (g) -------------------------------------------------------------------------


def _current_rss_kib():
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return float("nan")


def _tiled_child(height, width, filters):
    """Runs in a fresh process: peak RSS of tiled denoising, printed as JSON."""
    from keras_miyasawa import tiling

    model = km.models.DnCNN(depth=DEPTH, filters=filters)
    tiling.denoise_tiled(model, np.zeros((300, 300, 1), "float32"))  # warm-up
    before = _current_rss_kib()
    image = np.random.default_rng(0).random((height, width, 1), dtype="float32")
    start = time.perf_counter()
    out = tiling.denoise_tiled(model, image)
    seconds = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    print(
        json.dumps(
            {
                "peak_rss_mib": after / 1024,
                "rss_before_image_mib": before / 1024,
                "peak_rss_above_baseline_mib": (after - before) / 1024,
                "image_mib": image.nbytes / 2**20,
                "seconds": seconds,
                "finite": bool(np.isfinite(out).all()),
            }
        )
    )


def tiled_peak_rss(height, width, filters):
    try:
        from keras_miyasawa import tiling  # noqa: F401
    except ImportError as error:
        return {"available": False, "reason": f"{error}"}
    command = [
        sys.executable,
        __file__,
        "--tiled-child",
        f"{height},{width},{filters}",
    ]
    done = subprocess.run(command, capture_output=True, text=True)
    if done.returncode != 0:
        return {"available": False, "reason": done.stderr.strip()[-500:]}
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result.update(
        available=True,
        image=f"{width}x{height} gray float32",
        model=f"BF-DnCNN depth {DEPTH}, {filters} filters",
        settings="denoise_tiled defaults (tile 256, overlap 32, batch 4)",
    )
    return result


# --- main ------------------------------------------------------------------------


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    parser.add_argument("--quick", action="store_true", help="fewer repeats")
    parser.add_argument("--no-xla", action="store_true", help="skip jit_compile")
    parser.add_argument("--matmul-size", type=int, default=4096)
    parser.add_argument("--tiled-filters", type=int, default=8)
    parser.add_argument("--tiled-child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.tiled_child:
        _tiled_child(*(int(v) for v in args.tiled_child.split(",")))
        return None

    rounds = 2 if args.quick else 5
    start = time.perf_counter()
    keras.utils.set_random_seed(0)
    result = {
        "date": datetime.date.today().isoformat(),
        "command": "python benchmarks/bench.py " + " ".join(sys.argv[1:]),
        "machine": machine(),
    }
    log(f"# bench {result['date']}: {result['machine']['cpu']}")

    # (a)-(d): every variant warmed up once, then timed in interleaved rounds.
    y = np.random.default_rng(0).uniform(size=IMAGE_SHAPE).astype("float32")
    flops = dncnn_flops(*IMAGE_SHAPE[1:3])
    bf_dncnn = km.models.DnCNN(depth=DEPTH, filters=FILTERS)
    models = {
        "b_bf_dncnn_batch_norm": bf_dncnn,
        "b_bf_dncnn_folded": km.models.fold_batch_norm(bf_dncnn),
        "c_plain_keras_dncnn": plain_keras_dncnn(),
    }
    jits = (False,) if args.no_xla else (False, True)
    fns = {"a_matmul_peak": matmul_fn(args.matmul_size)}
    for name, model in models.items():
        for jit in jits:
            fns[name + ("_xla" if jit else "")] = inference_fn(model, y, jit)
    torch_run, torch_info = torch_dncnn_fn(y)
    if torch_run is not None:
        fns["d_pytorch_eager"] = torch_run
    log(f"timing {len(fns)} variants in {rounds} interleaved rounds")
    seconds = interleaved_best_times(fns, rounds)

    matmul_seconds = seconds.pop("a_matmul_peak")
    peak = {
        "size": args.matmul_size,
        "seconds": matmul_seconds,
        "gflops": 2 * args.matmul_size**3 / matmul_seconds / 1e9,
    }
    result["a_matmul_peak"] = peak
    log(f"(a) matmul {args.matmul_size}^2: {peak['gflops']:.1f} GFLOP/s")
    inference = {
        "image": "481x321 gray",
        "gflop_per_image": flops / 1e9,
        "timing": f"best of {rounds} interleaved rounds after one warm-up each",
    }
    for key, time_ in seconds.items():
        rate = {"seconds": time_, "gflops": flops / time_ / 1e9}
        if key == "d_pytorch_eager":
            rate = {**torch_info, **rate}
        rate["fraction_of_matmul_peak"] = rate["gflops"] / peak["gflops"]
        inference[key] = rate
        log(
            f"{key}: {rate['gflops']:.1f} GFLOP/s "
            f"({rate['fraction_of_matmul_peak']:.2f} of peak, "
            f"{rate['seconds']:.2f} s/image)"
        )
    if torch_run is None:
        inference["d_pytorch_eager"] = torch_info
        log(f"(d) PyTorch: {torch_info}")
    result["inference"] = inference

    result["e_sampler"] = sampler_rates(iterations=10, repeats=1)
    log(f"(e) sampler: {result['e_sampler']}")
    result["f_training"] = training_rate(batch_size=16, steps=3)
    log(f"(f) training: {result['f_training']}")
    result["g_tiled_denoise"] = tiled_peak_rss(3000, 4000, args.tiled_filters)
    log(f"(g) tiled: {result['g_tiled_denoise']}")

    result["targets"] = targets(inference, peak["gflops"])
    result["total_seconds"] = time.perf_counter() - start
    result["machine"]["load_average_at_end"] = os.getloadavg()
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print_summary(result)
    return result


def _best(inference, prefix):
    rates = [v["gflops"] for k, v in inference.items() if k.startswith(prefix)]
    return max(rates) if rates else None


def targets(inference, peak_gflops):
    """Each issue-7 target: the measured ratio, the goal and whether it is met.

    BF-DnCNN and the plain Keras DnCNN are each taken at their best variant
    (folded or not, XLA or not); PyTorch eager runs the unfolded network.
    """
    bf = _best(inference, "b_bf_dncnn")
    plain = _best(inference, "c_plain_keras_dncnn")
    measured = {
        "bf_dncnn_over_matmul_peak": bf / peak_gflops,
        "bf_dncnn_over_plain_keras": bf / plain,
    }
    torch_rate = inference["d_pytorch_eager"]
    if torch_rate.get("available"):
        measured["bf_dncnn_over_pytorch"] = bf / torch_rate["gflops"]
    return {
        name: {"measured": value, "goal": TARGETS[name], "met": value >= TARGETS[name]}
        for name, value in measured.items()
    }


def print_summary(result):
    print(json.dumps({k: result[k] for k in ("date", "machine")}, indent=2))
    print(f"(a) matmul peak: {result['a_matmul_peak']['gflops']:.1f} GFLOP/s")
    for key, rate in result["inference"].items():
        if isinstance(rate, dict) and "gflops" in rate:
            print(
                f"{key}: {rate['gflops']:.1f} GFLOP/s, "
                f"{rate.get('fraction_of_matmul_peak', float('nan')):.2f} of peak"
            )
    for key in ("e_sampler", "f_training", "g_tiled_denoise", "targets"):
        print(f"{key}: {json.dumps(result[key])}")


if __name__ == "__main__":
    main()
