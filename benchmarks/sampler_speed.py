"""Speed of the coarse-to-fine sampler: compiled vs eager vs a PyTorch loop.

Chain-iterations per second (chains x iterations / wall time) of Kadkhodaie &
Simoncelli's Algorithm 1 on 40x40 grayscale images with the default BF-DnCNN
(20 layers, 64 filters), all from one run:

- compiled: `keras_miyasawa.samplers.coarse_to_fine` (one `tf.function` with a
  `tf.while_loop`), 1 and 16 chains, without and with XLA (`jit_compile`),
  with its default `fold_batch_norm=True` (it runs the model with the batch
  norms folded into the convolutions, same outputs) and, for 16 chains,
  without;
- eager: the same algorithm as a plain Python loop calling the user's Keras
  model (as given, not folded) eagerly, 1 chain;
- PyTorch (when `torch` is installed, `pip install -e .[torch]`): the
  reference-style loop (`torch.no_grad`, one chain) on the same weights.

Every variant runs the same fixed number of iterations (`sigma_L` is set
below reach, so no chain stops early); compilation happens in a warm-up call
that is not timed, and the variants are then timed in turns, one run each per
round, so that a change of load during the run affects them alike. The
weights are the `dncnn/bias_free/0-100` reference checkpoint when `../shared`
is present, else a freshly initialized DnCNN (the speed does not depend on the
weights).

Usage (from the repository root):

    python benchmarks/sampler_speed.py
    python benchmarks/sampler_speed.py --iterations 60 --repeats 3
"""

import argparse
import datetime
import os
import platform
import sys
import time
import warnings
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras_miyasawa as km  # noqa: E402

CHECKPOINT = ROOT / ".." / "shared/reference/checkpoints/dncnn/bias_free/0-100.pt"
SIZE = 40
H0, BETA = 0.01, 0.5


def best_rate(run, chains, iterations, repeats, warm_up=True):
    """Best of `repeats` timed runs (after an untimed one), chain-iterations/s."""
    if warm_up:
        run()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return chains * iterations / min(times)


def compiled(model, chains, iterations, jit_compile, fold_batch_norm=True):
    def run():
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # not converged: wanted
            result = km.samplers.coarse_to_fine(
                model,
                (chains, SIZE, SIZE, 1),
                h0=H0,
                beta=BETA,
                sigma_L=1e-9,
                max_steps=iterations,
                seed=0,
                jit_compile=jit_compile,
                fold_batch_norm=fold_batch_norm,
            )
        assert int(result.num_steps.min()) == iterations
        return result

    start = time.perf_counter()
    run()  # traces and compiles
    return run, time.perf_counter() - start


def eager_loop(model, iterations):
    """Algorithm 1 as a plain Python loop over eager TensorFlow ops."""

    def run():
        y = 0.5 + tf.random.normal((1, SIZE, SIZE, 1), seed=0)
        n = float(SIZE * SIZE)
        for t in range(1, iterations + 1):
            d = model(y, training=False) - y
            sigma = tf.sqrt(tf.reduce_sum(d * d) / n)
            h = H0 * t / (1 + H0 * (t - 1))
            gamma = sigma * np.sqrt((1 - BETA * h) ** 2 - (1 - h) ** 2)
            y = y + h * d + gamma * tf.random.normal(tf.shape(y))
        return y

    return run


def torch_loop(weights, iterations):
    """The reference code's loop (PyTorch, no_grad, one chain) on the same weights."""
    import torch
    from torch import nn

    class BFBatchNorm(nn.Module):
        def __init__(self, channels):
            super().__init__()
            self.weight = nn.Parameter(torch.ones(channels))
            self.register_buffer("running_var", torch.ones(channels))

        def forward(self, x):
            std = torch.sqrt(self.running_var).view(1, -1, 1, 1) + 1e-5
            return x / std * self.weight.view(1, -1, 1, 1)

    class BFCNN(nn.Module):
        def __init__(self, depth=20, filters=64):
            super().__init__()
            self.first_layer = nn.Conv2d(1, filters, 3, padding=1, bias=False)
            self.hidden_layer_list = nn.ModuleList(
                nn.Conv2d(filters, filters, 3, padding=1, bias=False)
                for _ in range(depth - 2)
            )
            self.bn_layer_list = nn.ModuleList(
                BFBatchNorm(filters) for _ in range(depth - 2)
            )
            self.last_layer = nn.Conv2d(filters, 1, 3, padding=1, bias=False)

        def forward(self, x):
            out = torch.relu(self.first_layer(x))
            for conv, bn in zip(self.hidden_layer_list, self.bn_layer_list):
                out = torch.relu(bn(conv(out)))
            return x - self.last_layer(out)  # the clean estimate

    net = BFCNN().eval()
    if weights is not None:
        state = {k: torch.from_numpy(np.asarray(v)) for k, v in weights.items()}
        net.load_state_dict(state, strict=False)

    def run():
        torch.manual_seed(0)
        with torch.no_grad():
            y = torch.normal(0.5 * torch.ones(1, 1, SIZE, SIZE), 1.0)
            n = float(SIZE * SIZE)
            for t in range(1, iterations + 1):
                d = net(y) - y
                sigma = torch.norm(d) / np.sqrt(n)
                h = H0 * t / (1 + H0 * (t - 1))
                gamma = sigma * np.sqrt((1 - BETA * h) ** 2 - (1 - h) ** 2)
                y = y + h * d + gamma * torch.randn(1, 1, SIZE, SIZE)
        return y

    return run


def reference_state(path):
    """The reference state dict as NumPy arrays (read without PyTorch)."""
    from keras_miyasawa.presets import load_torch_checkpoint

    checkpoint = load_torch_checkpoint(str(path))
    state = checkpoint["model"][0] if "model" in checkpoint else checkpoint
    return {
        k: np.asarray(v)
        for k, v in state.items()
        if k.endswith("weight") or k.endswith("running_var")
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=40)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--no-xla", action="store_true", help="skip jit_compile")
    args = parser.parse_args(argv)

    weights = None
    if CHECKPOINT.is_file():
        model = km.presets.import_torch_checkpoint(str(CHECKPOINT))
        weights = reference_state(CHECKPOINT)
        source = "dncnn/bias_free/0-100 reference weights"
    else:
        model = km.models.DnCNN()
        source = "freshly initialized weights (../shared absent)"
    n, k = args.iterations, args.repeats
    print(
        f"# coarse_to_fine speed, {datetime.date.today()}, {platform.node()}, "
        f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}; "
        f"TF {tf.__version__}; BF-DnCNN 20x64 ({source}); {SIZE}x{SIZE} gray; "
        f"{n} iterations, best of {k}"
    )
    # (label, run, chains, first call): every variant is warmed up first and
    # then timed in turns, round after round, so that a change in the load of
    # the machine during the run hits all of them alike.
    variants = []
    eager = eager_loop(model, n)
    eager()
    variants.append(("eager Python loop (TF), 1 chain", eager, 1, None))
    for jit in (False, True) if not args.no_xla else (False,):
        for chains in (1, 16):
            run, warmup = compiled(model, chains, n, jit)
            xla = " + XLA" if jit else ""
            label = f"compiled coarse_to_fine{xla}, {chains} chain{'s' * (chains > 1)}"
            variants.append((label, run, chains, warmup))
    # The sampler's default runs the model with its batch norms folded into
    # the convolutions; this row shows what that is worth.
    run, warmup = compiled(model, 16, n, False, fold_batch_norm=False)
    label = "compiled coarse_to_fine, 16 chains, fold_batch_norm=False"
    variants.append((label, run, 16, warmup))
    try:
        import torch

        run = torch_loop(weights, n)
        run()
        label = f"PyTorch {torch.__version__} reference-style loop, 1 chain"
        variants.append((label, run, 1, None))
        has_torch = True
    except ImportError:
        has_torch = False
    best = [float("inf")] * len(variants)
    for _ in range(k):
        for i, (_, run, _, _) in enumerate(variants):
            start = time.perf_counter()
            run()
            best[i] = min(best[i], time.perf_counter() - start)
    rows = [
        (label, chains * n / time_, warmup)
        for (label, _, chains, warmup), time_ in zip(variants, best)
    ]
    eager_rate = rows[0][1]
    torch_rate = rows[-1][1] if has_torch else None
    if not has_torch:
        rows.append(("PyTorch loop: torch not installed", float("nan"), None))

    print()
    print("| variant | chain-iterations/s | x eager 1 chain | first call (s) |")
    print("| --- | --- | --- | --- |")
    for label, rate, warmup in rows:
        first = f"{warmup:.1f}" if warmup is not None else "-"
        print(f"| {label} | {rate:.1f} | {rate / eager_rate:.2f} | {first} |")
    compiled_1 = rows[1][1]
    compiled_16 = rows[2][1]
    print()
    print(f"compiled 1 chain / eager 1 chain = {compiled_1 / eager_rate:.2f} (>= 2)")
    print(f"compiled 16 chains / eager 1 chain = {compiled_16 / eager_rate:.2f} (>= 3)")
    if torch_rate:
        print(
            f"compiled 16 chains / PyTorch loop = {compiled_16 / torch_rate:.2f} (>= 5)"
        )


if __name__ == "__main__":
    main()
