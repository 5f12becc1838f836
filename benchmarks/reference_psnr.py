"""Set12 PSNR of presets at noise levels 15, 25 and 50 (0-255 units).

For each preset and sigma, every Set12 image x (gray, in [0, 1]) gets Gaussian
noise of std sigma/255 drawn from a generator seeded by (seed, sigma), the
preset denoises y = x + noise, the output is clipped to [0, 1], and the PSNR
10 log10(1 / MSE) is averaged over the 12 images.

Usage (from the repository root; the reference presets need the original
checkpoints, e.g. `KERAS_MIYASAWA_CHECKPOINT_DIR=../shared/reference/checkpoints`):

    python benchmarks/reference_psnr.py --preset mohan2020_dncnn_bias_free_0-55
    python benchmarks/reference_psnr.py --preset all --json psnr.json
    python benchmarks/reference_psnr.py --preset bf_dncnn_color_0-55 --channels 3 \
        --data ../shared/data/live1_color

Prints a Markdown table; `--json PATH` also writes the figures (`-` for stdout).
"""

import argparse
import json
import os
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_DATA = ROOT / ".." / "shared" / "data" / "set12"
DEFAULT_SIGMAS = (15, 25, 50)


def _library():
    try:
        import keras_miyasawa as km
    except ImportError:  # run from a checkout without `pip install -e .`
        sys.path.insert(0, str(ROOT))
        import keras_miyasawa as km
    return km


def load_set12(data_dir=DEFAULT_DATA, channels=1):
    """The images (Set12 by default) as float32 (1, H, W, C) arrays in [0, 1]."""
    return _library().evaluation.load_images(
        data_dir, channels=channels, name="data_dir"
    )


def psnr_table(model, images, sigmas=DEFAULT_SIGMAS, seed=0):
    """Mean PSNR (dB) of `model` over `images` for each sigma (0-255 units)."""
    table = _library().evaluation.evaluate_denoiser(
        model, images, sigmas, seed=seed, ssim=False
    )
    return {sigma: row["psnr"] for sigma, row in table.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--preset",
        action="append",
        help="preset name or folder (repeatable); 'all' for every listed preset. "
        "Default: mohan2020_dncnn_bias_free_0-55",
    )
    parser.add_argument(
        "--sigma",
        type=float,
        nargs="+",
        default=list(DEFAULT_SIGMAS),
        help="noise std in 0-255 units. Default: 15 25 50",
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed. Default: 0")
    parser.add_argument(
        "--data", default=str(DEFAULT_DATA), help="image folder. Default: Set12"
    )
    parser.add_argument(
        "--channels",
        type=int,
        choices=(1, 3),
        default=1,
        help="1: gray, 3: colour (colour presets, e.g. on ../shared/data/live1_color)",
    )
    parser.add_argument("--json", help="also write the results as JSON ('-': stdout)")
    args = parser.parse_args(argv)

    km = _library()
    presets = args.preset or ["mohan2020_dncnn_bias_free_0-55"]
    if "all" in presets:
        presets = km.list_presets()
    images = load_set12(args.data, args.channels)
    sigmas = [int(s) if float(s).is_integer() else s for s in args.sigma]
    results = {}
    header = "| preset | " + " | ".join(f"sigma {s}" for s in sigmas) + " | time (s) |"
    print(header)
    print("|" + " --- |" * (len(sigmas) + 2))
    for preset in presets:
        start = time.perf_counter()
        model = km.from_preset(preset)
        table = psnr_table(model, images, sigmas, args.seed)
        elapsed = time.perf_counter() - start
        results[os.fspath(preset)] = {str(s): round(v, 4) for s, v in table.items()}
        cells = " | ".join(f"{table[s]:.2f}" for s in sigmas)
        print(f"| {preset} | {cells} | {elapsed:.0f} |", flush=True)
    if args.json:
        payload = {
            "data": Path(args.data).name,
            "seed": args.seed,
            "sigmas_255": sigmas,
            "clip": [0.0, 1.0],
            "psnr_db": results,
        }
        text = json.dumps(payload, indent=2) + "\n"
        if args.json == "-":
            sys.stdout.write(text)
        else:
            Path(args.json).write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
