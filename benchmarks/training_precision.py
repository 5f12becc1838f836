"""Training speed in float32 vs mixed_bfloat16 (`train --precision`).

For the two preset architectures trained by this project (the default BF-UNet on
64x64 patches, a depth-10 48-filter BF-DnCNN without batch norm on 40x40
patches; batch 32, gray), times `model.fit` steps (Adam, MSE) on in-memory
batches in both precisions, alternating rounds in one process so that machine
noise hits both alike. Prints steps per second and the mixed / float32 ratio.

    python benchmarks/training_precision.py [--steps 20] [--rounds 3]
        [--threads N] [--json]
"""

import argparse
import json
import os
import platform
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_miyasawa as km  # noqa: E402

NETWORKS = {
    "bf_unet_64x64": (lambda dtype: km.models.UNet(dtype=dtype), 64),
    "bf_dncnn_d10_f48_40x40": (
        lambda dtype: km.models.DnCNN(
            depth=10, filters=48, batch_norm=False, dtype=dtype
        ),
        40,
    ),
}
PRECISIONS = ("float32", "mixed_bfloat16")


def steps_per_second(model, dataset, steps):
    start = time.perf_counter()
    model.fit(dataset, epochs=1, steps_per_epoch=steps, shuffle=False, verbose=0)
    return steps / (time.perf_counter() - start)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--steps", type=int, default=20, help="timed steps per round")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch-size", type=int, default=32)
    parser.add_argument("--threads", type=int, help="TensorFlow intra-op threads")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.threads:
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    rng = np.random.default_rng(0)
    results = {}
    for name, (build, size) in NETWORKS.items():
        clean = rng.uniform(size=(args.batch_size, size, size, 1)).astype("float32")
        noisy = clean + 25 / 255 * rng.normal(size=clean.shape).astype("float32")
        dataset = tf.data.Dataset.from_tensors((noisy, clean)).repeat()
        models = {}
        for precision in PRECISIONS:
            keras.utils.set_random_seed(0)
            model = build(precision)
            model.compile(optimizer=keras.optimizers.Adam(1e-4), loss="mse")
            model.fit(dataset, epochs=1, steps_per_epoch=3, shuffle=False, verbose=0)
            models[precision] = model
        rates = {precision: [] for precision in PRECISIONS}
        for _ in range(args.rounds):
            for precision in PRECISIONS:
                rates[precision].append(
                    steps_per_second(models[precision], dataset, args.steps)
                )
        best = {precision: max(r) for precision, r in rates.items()}
        results[name] = {
            **{f"{p}_steps_per_s": round(v, 2) for p, v in best.items()},
            "ratio": round(best["mixed_bfloat16"] / best["float32"], 2),
        }
    report = {
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "cpu_count": os.cpu_count(),
        "threads": args.threads,
        "batch_size": args.batch_size,
        "results": results,
    }
    if args.json:
        print(json.dumps(report, indent=2))
        return
    for name, row in results.items():
        print(
            f"{name}: float32 {row['float32_steps_per_s']} steps/s, mixed_bfloat16 "
            f"{row['mixed_bfloat16_steps_per_s']} steps/s, ratio {row['ratio']}"
        )


if __name__ == "__main__":
    main()
