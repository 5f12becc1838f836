"""PSNR and speed of the inference fast path on Set12 (issue 7).

Denoises Set12 (noise sigma 25/255, seeded) with the bundled preset through
`keras_miyasawa.inference.denoise_images` in each configuration:

- as built (`fold=False`),
- folded (`keras_miyasawa.models.fold_batch_norm`, the default),
- folded + XLA (`jit_compile=True`),
- folded + `mixed_bfloat16` (bfloat16 activations, float32 weights),
- folded + XLA + `mixed_bfloat16`,

all in one process, and prints the mean PSNR (estimates clipped to [0, 1]),
its change against "as built", and images per second (best of `--repeats`
passes over the 12 images, after one untimed pass that traces/compiles).

    python benchmarks/inference_precision.py [--data DIR] [--batch-size 4]
        [--repeats 2] [--json]
"""

import argparse
import datetime
import json
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_miyasawa as km  # noqa: E402

DEFAULT_DATA = HERE.parent / ".." / "shared" / "data" / "set12"
CONFIGS = [
    ("as built", {"fold": False}),
    ("folded", {"fold": True}),
    ("folded + jit", {"fold": True, "jit_compile": True}),
    ("folded + mixed_bfloat16", {"fold": True, "precision": "mixed_bfloat16"}),
    (
        "folded + jit + mixed_bfloat16",
        {"fold": True, "jit_compile": True, "precision": "mixed_bfloat16"},
    ),
]


def measure(model, clean, noisy, options, batch_size, repeats):
    km.inference.denoise_images(model, noisy, batch_size=batch_size, **options)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        estimates = km.inference.denoise_images(
            model, noisy, batch_size=batch_size, **options
        )
        best = min(best, time.perf_counter() - start)
    psnr = np.mean(
        [
            km.metrics.image_psnr(x, np.clip(x_hat, 0.0, 1.0))
            for x, x_hat in zip(clean, estimates)
        ]
    )
    return {"psnr": float(psnr), "images_per_second": len(noisy) / best}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA), help="the Set12 folder")
    parser.add_argument("--preset", default=km.presets.DEFAULT_PRESET)
    parser.add_argument("--sigma", type=float, default=25.0, help="0-255 units")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()

    data = Path(args.data)
    if not data.is_dir():
        sys.exit(
            f"inference_precision.py: Set12 not found at {data}; pass --data DIR "
            "(a folder of the 12 gray test images)."
        )
    paths = km.image_io.list_images(data, name="--data")
    clean = [km.image_io.read_image(path) for path in paths]
    rng = np.random.default_rng(args.seed)
    sigma = np.float32(args.sigma / 255.0)
    noisy = [x + sigma * rng.standard_normal(x.shape, dtype=np.float32) for x in clean]
    model = km.from_preset(args.preset)

    results = {}
    for name, options in CONFIGS:
        try:
            results[name] = measure(
                model, clean, noisy, options, args.batch_size, args.repeats
            )
        except Exception as error:  # a configuration this machine cannot run
            results[name] = {"error": " ".join(str(error).split())[:200]}
        row = results[name]
        if "error" in row:
            print(f"{name}: failed ({row['error']})", file=sys.stderr)
        else:
            print(
                f"{name}: {row['psnr']:.3f} dB, {row['images_per_second']:.2f} "
                "images/s",
                file=sys.stderr,
            )

    base = results["as built"]
    payload = {
        "date": datetime.date.today().isoformat(),
        "machine": f"{platform.machine()}, {os.cpu_count()} CPUs",
        "tensorflow": tf.__version__,
        "keras": keras.__version__,
        "preset": args.preset,
        "batch_norm": bool(model.get_config().get("batch_norm")),
        "data": str(data),
        "images": len(clean),
        "sigma_255": args.sigma,
        "seed": args.seed,
        "batch_size": args.batch_size,
        "repeats": args.repeats,
        "results": results,
    }
    if args.json:
        print(json.dumps(payload, indent=2))
        return
    print(
        f"{args.preset} (batch_norm={payload['batch_norm']}) on {len(clean)} "
        f"images of {data.name}, sigma {args.sigma:g}/255 (seed {args.seed}), "
        f"batch {args.batch_size}, best of {args.repeats}:"
    )
    print("| configuration | PSNR (dB) | vs as built (dB) | images/s | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    for name, row in results.items():
        if "error" in row:
            print(f"| {name} | failed: {row['error']} | | | |")
            continue
        print(
            f"| {name} | {row['psnr']:.3f} | {row['psnr'] - base['psnr']:+.3f} | "
            f"{row['images_per_second']:.2f} | "
            f"{row['images_per_second'] / base['images_per_second']:.2f}x |"
        )


if __name__ == "__main__":
    main()
