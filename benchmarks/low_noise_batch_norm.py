"""Why `keras-miyasawa train --batch-norm off` for low training noise levels.

Trains the same small BF-DnCNN (depth 10, 48 filters) for a few hundred Adam
steps on Train400 patches with noise std uniform in [0, 10]/255, with and
without bias-free batch norm (and with batch norm under a learning-rate warmup
or a smaller rate), then prints the validation MSE of each as a fraction of
the MSE of the noisy input itself (below 1: the network denoises; above 1: it
makes the image worse). Every configuration starts from the same seed and sees
the same batches.

    python benchmarks/low_noise_batch_norm.py [--steps 300] [--data DIR] [--json]

Needs ../shared/data/train400 (or --data).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_miyasawa as km  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "train400"
SIGMA_RANGE = (0.0, 10 / 255)
# name -> (batch_norm, peak learning rate, warmup steps)
CONFIGS = {
    "batch norm, lr 1e-3": (True, 1e-3, 0),
    "batch norm, lr 1e-3, 100 warmup steps": (True, 1e-3, 100),
    "batch norm, lr 1e-4": (True, 1e-4, 0),
    "no batch norm, lr 1e-3": (False, 1e-3, 0),
}


def train_and_score(dataset, validation, batch_norm, learning_rate, warmup, steps):
    """Validation MSE / noisy-input MSE after `steps` Adam steps (cosine decay)."""
    keras.utils.set_random_seed(0)
    model = km.models.DnCNN(channels=1, depth=10, filters=48, batch_norm=batch_norm)
    schedule = keras.optimizers.schedules.CosineDecay(
        0.0 if warmup else learning_rate,
        decay_steps=steps - warmup,
        alpha=0.01,
        warmup_target=learning_rate if warmup else None,
        warmup_steps=warmup,
    )
    model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
    model.fit(dataset, steps_per_epoch=steps, epochs=1, verbose=0)
    errors, noisy_errors = [], []
    for noisy, clean in validation:
        x_hat = model(noisy, training=False)
        errors.append(float(np.mean((np.asarray(x_hat) - clean) ** 2)))
        noisy_errors.append(float(np.mean((noisy - clean) ** 2)))
    return float(np.mean(errors) / np.mean(noisy_errors))


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--json", action="store_true", help="also print JSON")
    args = parser.parse_args(argv)
    if not Path(args.data).is_dir():
        print(f"training images not found: {args.data}", file=sys.stderr)
        return 1
    dataset = km.data.denoising_dataset(
        args.data, patch_size=40, sigma_range=SIGMA_RANGE, batch_size=32, seed=0
    )
    validation = [
        (np.asarray(noisy), np.asarray(clean))
        for noisy, clean in km.data.denoising_dataset(
            args.data, patch_size=40, sigma_range=SIGMA_RANGE, batch_size=32, seed=1
        ).take(4)
    ]
    print(f"BF-DnCNN depth 10 / 48 filters, {args.steps} steps, batch 32 of 40x40,")
    print("noise std uniform in [0, 10]/255; validation MSE / noisy-input MSE:")
    print("| configuration | MSE ratio | time (s) |")
    print("| --- | --- | --- |")
    results = {}
    for name, (batch_norm, learning_rate, warmup) in CONFIGS.items():
        start = time.perf_counter()
        ratio = train_and_score(
            dataset, validation, batch_norm, learning_rate, warmup, args.steps
        )
        results[name] = round(ratio, 4)
        print(f"| {name} | {ratio:.3f} | {time.perf_counter() - start:.0f} |")
    if args.json:
        print(json.dumps({"steps": args.steps, "mse_ratio": results}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
