"""Peak memory (RSS) of denoising a large image tile by tile.

Denoises one random 4000x3000 gray image with `keras_miyasawa.tiling.
denoise_tiled` in a fresh child process and reports that process's peak
resident set size (`ru_maxrss` of the child, read with `os.wait4`, the
per-child figure of `resource.getrusage(RUSAGE_CHILDREN)`), so the parent's
own memory does not count. Whole-image inference of a 64-wide network would
need 4000 * 3000 * 64 * 4 bytes = 3 GB per activation; tiles bound it by
`batch_size * tile**2 * 64 * 4` bytes.

The network is a DnCNN with random weights (no checkpoint needed) or a preset.
Tiles go through the compiled forward pass (`predict_on_batch`), which frees
each activation after use, so peak memory depends on the width (`--filters`)
and the tiles far more than on the depth; `--depth 3` gives a quick estimate
of the 20-layer figure.

Usage (from the repository root):

    python benchmarks/tiled_denoise_rss.py --depth 3
    python benchmarks/tiled_denoise_rss.py --preset mohan2020_dncnn_bias_free_0-55

Prints one line and, with `--json`, the figures as JSON.
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _child(options, result_path):
    """Runs in the child: builds the model, denoises, writes timings."""
    import numpy as np

    try:
        import keras_miyasawa as km
    except ImportError:  # run from a checkout without `pip install -e .`
        sys.path.insert(0, str(ROOT))
        import keras_miyasawa as km

    if options["preset"]:
        model = km.from_preset(options["preset"])
    else:
        model = km.models.DnCNN(depth=options["depth"], filters=options["filters"])
    rng = np.random.default_rng(0)
    image = rng.uniform(size=(options["height"], options["width"], 1))
    image = image.astype("float32")
    start = time.perf_counter()
    output = km.tiling.denoise_tiled(
        model,
        image,
        tile=options["tile"],
        overlap=options["overlap"],
        batch_size=options["batch_size"],
    )
    seconds = time.perf_counter() - start
    assert output.shape == image.shape and np.isfinite(output).all()
    Path(result_path).write_text(json.dumps({"seconds": seconds}))


def measure_tiled_rss(
    height=4000,
    width=3000,
    tile=256,
    overlap=32,
    batch_size=4,
    depth=20,
    filters=64,
    preset=None,
):
    """Denoises a `height x width` gray image in tiles in a child process.

    Returns:
        A dict with the options, `peak_rss_mib` (the child's peak RSS) and
        `seconds` (the tiled denoising alone, without start-up).

    Raises:
        RuntimeError: if the child fails.
    """
    options = {
        "height": height,
        "width": width,
        "tile": tile,
        "overlap": overlap,
        "batch_size": batch_size,
        "depth": depth,
        "filters": filters,
        "preset": preset,
    }
    with tempfile.TemporaryDirectory() as folder:
        result_path = os.path.join(folder, "result.json")
        process = subprocess.Popen(
            [
                sys.executable,
                __file__,
                "--child",
                json.dumps(options),
                result_path,
            ],
            env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        )
        # wait4 returns this child's own rusage (ru_maxrss in KiB on Linux).
        _, status, usage = os.wait4(process.pid, 0)
        process.returncode = os.waitstatus_to_exitcode(status)
        if process.returncode != 0:
            raise RuntimeError(f"the child failed with status {process.returncode}")
        result = json.loads(Path(result_path).read_text())
    return {
        **options,
        "peak_rss_mib": round(usage.ru_maxrss / 1024.0, 1),
        "seconds": round(result["seconds"], 1),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    if argv is None and len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(json.loads(sys.argv[2]), sys.argv[3])
        return 0
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--width", type=int, default=3000)
    parser.add_argument("--tile", type=int, default=256)
    parser.add_argument("--overlap", type=int, default=32)
    parser.add_argument("--batch-size", type=int, default=4)
    parser.add_argument("--depth", type=int, default=20, help="random DnCNN depth")
    parser.add_argument("--filters", type=int, default=64, help="random DnCNN width")
    parser.add_argument("--preset", help="measure this preset instead")
    parser.add_argument("--json", action="store_true", help="also print JSON")
    args = parser.parse_args(argv)
    result = measure_tiled_rss(
        args.height,
        args.width,
        args.tile,
        args.overlap,
        args.batch_size,
        args.depth,
        args.filters,
        args.preset,
    )
    model = result["preset"] or f"DnCNN(depth={args.depth}, filters={args.filters})"
    print(
        f"{args.height}x{args.width} gray, {model}, tile {args.tile}, overlap "
        f"{args.overlap}, batch {args.batch_size}: peak RSS "
        f"{result['peak_rss_mib']:.0f} MiB, {result['seconds']:.0f}s",
        flush=True,
    )
    if args.json:
        print(json.dumps(result, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
