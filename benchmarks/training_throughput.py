"""Training throughput: BF-DnCNN vs a plain Keras Conv2D + BatchNormalization DnCNN.

Both networks have the default DnCNN size (depth 20, 64 filters, 3x3, batch
norm) and are trained with `model.fit` (Adam, MSE) on the same in-memory
batches of 40x40 gray patches, batch 64, in one process, alternating rounds so
that machine noise hits both alike. Prints patches per second and the ratio.

    python benchmarks/training_throughput.py [--steps 20] [--rounds 3] [--json]
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402

import keras_miyasawa as km  # noqa: E402


def plain_keras_dncnn(depth=20, filters=64):
    """The usual Keras DnCNN: Conv2D (biased) + BatchNormalization + ReLU."""
    inputs = keras.Input((None, None, 1))
    x = keras.layers.ReLU()(keras.layers.Conv2D(filters, 3, padding="same")(inputs))
    for _ in range(depth - 2):
        x = keras.layers.Conv2D(filters, 3, padding="same", use_bias=False)(x)
        x = keras.layers.BatchNormalization()(x)
        x = keras.layers.ReLU()(x)
    x = keras.layers.Conv2D(1, 3, padding="same")(x)
    return keras.Model(inputs, keras.layers.Add()([inputs, x]))


def patches_per_second(model, noisy, clean, batch_size, steps):
    model.fit(
        noisy, clean, batch_size=batch_size, epochs=1, steps_per_epoch=2, verbose=0
    )
    start = time.perf_counter()
    model.fit(
        noisy, clean, batch_size=batch_size, epochs=1, steps_per_epoch=steps, verbose=0
    )
    return steps * batch_size / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    keras.utils.set_random_seed(0)
    rng = np.random.default_rng(0)
    n = args.batch_size * (args.steps + 2)
    clean = rng.uniform(size=(n, 40, 40, 1)).astype("float32")
    noisy = clean + rng.uniform(0, 55 / 255, (n, 1, 1, 1)) * rng.normal(
        size=clean.shape
    ).astype("float32")
    models = {"bf_dncnn": km.models.DnCNN(), "keras_dncnn": plain_keras_dncnn()}
    for model in models.values():
        model.compile(optimizer="adam", loss="mse")
    rates = {name: [] for name in models}
    for _ in range(args.rounds):
        for name, model in models.items():
            rates[name].append(
                patches_per_second(model, noisy, clean, args.batch_size, args.steps)
            )
    best = {name: max(r) for name, r in rates.items()}
    result = {
        "machine": f"{platform.machine()}, {os.cpu_count()} CPU cores",
        "batch": f"{args.batch_size} x 40x40x1",
        "patches_per_second": best,
        "all_rounds": rates,
        "bias_free_cost": best["keras_dncnn"] / best["bf_dncnn"] - 1.0,
    }
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"machine: {result['machine']}; batch {result['batch']}; best of rounds")
        for name, rate in best.items():
            print(f"  {name:12s} {rate:8.1f} patches/s")
        print(f"  bias-free training costs {100 * result['bias_free_cost']:+.1f}%")


if __name__ == "__main__":
    main()
