"""Linear inverse problems on Set12 crops: Algorithm 2 and RED vs the naive baseline.

For each operator (inpainting, random pixels, super-resolution, spectral
low-pass, compressive sensing), the measurements `M^T x` of grayscale crops of
`../shared/data/set12` are reconstructed three ways:

- naive: `operator.mean_fill` (M applied to the measurements, the unmeasured
  subspace filled with the best constant);
- RED: `keras_miyasawa.samplers.red` started from the naive image;
- Algorithm 2: `keras_miyasawa.samplers.solve_inverse_problem` (Kadkhodaie &
  Simoncelli), one chain per crop.

and the mean PSNR (dB, clipped to [0, 1]) over the crops is printed as a
Markdown table, with the iterations and wall time of Algorithm 2 and the
largest distance to the measurement constraint, ||M^T x - x_c|| / sqrt(m) in
units of sigma_L, of its default result x = (I - M M^T) f(y_T) + M M^T y_T
(the final denoising confined to the unmeasured subspace; as consistent as
the last iterate y_T by construction) and of the reference code's result
f(y_T) (`denoise_measured=True`), with the PSNR of both.

Usage (from the repository root):

    python benchmarks/inverse_problems.py                 # defaults below
    python benchmarks/inverse_problems.py --crops 4 --size 64 --beta 0.1

The denoiser is the bias-free DnCNN of Mohan et al. trained on noise std in
[0, 100]/255 (`--checkpoint`), imported with
`keras_miyasawa.presets.import_torch_checkpoint`.
"""

import argparse
import datetime
import os
import platform
import sys
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import keras_miyasawa as km  # noqa: E402

SHARED = ROOT / ".." / "shared"


def load_crops(num_crops, size):
    """Center crops of the first `num_crops` Set12 images, `(n, size, size, 1)`."""
    files = sorted((SHARED / "data" / "set12").glob("*.png"))[:num_crops]
    crops = []
    for path in files:
        image = np.asarray(Image.open(path).convert("L"), dtype="float32") / 255.0
        top = (image.shape[0] - size) // 2
        left = (image.shape[1] - size) // 2
        crops.append(image[top : top + size, left : left + size, None])
    return np.stack(crops), [p.name for p in files]


def psnr(x, reference):
    x = np.clip(np.asarray(x, dtype="float64"), 0.0, 1.0)
    mse = np.mean((x - reference) ** 2, axis=(1, 2, 3))
    return 10.0 * np.log10(1.0 / np.maximum(mse, 1e-12))


def consistency(operator, x, measurement):
    """The largest ||M^T x - x_c|| / sqrt(m) over the batch."""
    residual = np.asarray(operator.forward(x)) - np.asarray(measurement)
    rms = np.sqrt(np.mean(residual.reshape(len(residual), -1) ** 2, axis=1))
    return float(rms.max())


def operators(size, seed):
    shape = (size, size, 1)
    hole = size // 4
    return {
        f"inpainting ({hole}x{hole} hole)": km.operators.Inpainting(
            hole=((size - hole) // 2, (size - hole) // 2, hole, hole),
            image_shape=shape,
        ),
        "random pixels 10%": km.operators.RandomPixels(
            0.1, seed=seed, image_shape=shape
        ),
        "super-resolution x4": km.operators.SuperResolution(4, image_shape=shape),
        "spectral low-pass 10%": km.operators.SpectralLowPass(0.1, image_shape=shape),
        "compressive sensing 10%": km.operators.CompressiveSensing(
            0.1, seed=seed, image_shape=shape
        ),
    }


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--crops", type=int, default=4, help="Set12 images used")
    parser.add_argument("--size", type=int, default=64, help="crop side (pixels)")
    parser.add_argument("--h0", type=float, default=0.01)
    parser.add_argument("--beta", type=float, default=0.01)
    parser.add_argument("--sigma-L", type=float, default=0.01)
    parser.add_argument("--max-steps", type=int, default=1000)
    parser.add_argument("--red-lam", type=float, default=0.05)
    parser.add_argument("--red-steps", type=int, default=100)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--checkpoint",
        default=str(SHARED / "reference/checkpoints/dncnn/bias_free/0-100.pt"),
    )
    args = parser.parse_args(argv)
    if not (SHARED / "data" / "set12").is_dir():
        sys.exit(f"Set12 not found under {SHARED}: this benchmark needs ../shared.")

    from keras_miyasawa.presets import import_torch_checkpoint

    model = import_torch_checkpoint(args.checkpoint)
    images, names = load_crops(args.crops, args.size)
    print(
        f"# inverse problems, {datetime.date.today()}, {platform.node()} "
        f"({os.cpu_count()} CPUs), {len(images)} Set12 crops {args.size}x{args.size} "
        f"({', '.join(names)})"
    )
    print(
        f"# Algorithm 2: h0={args.h0} beta={args.beta} sigma_L={args.sigma_L} "
        f"seed={args.seed}; RED: lam={args.red_lam} steps={args.red_steps}; "
        f"denoiser {args.checkpoint}"
    )
    print()
    print(
        "| operator | m/N | naive PSNR | RED PSNR | Algorithm 2 PSNR | "
        "Alg. 2 PSNR f(y_T) | Alg. 2 iterations | Alg. 2 time (s) | "
        "consistency x / sigma_L | consistency f(y_T) / sigma_L |"
    )
    print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
    for name, op in operators(args.size, args.seed).items():
        measurement = op.forward(images)
        naive = op.mean_fill(measurement)
        red = km.samplers.red(
            model, op, measurement, lam=args.red_lam, num_steps=args.red_steps
        )
        start = time.perf_counter()
        # The last iterate y_T; both final steps are computed from it below
        # (the default one as solve_inverse_problem does, which
        # tests/samplers checks), to run the loop once.
        result = km.samplers.solve_inverse_problem(
            model,
            op,
            measurement,
            h0=args.h0,
            beta=args.beta,
            sigma_L=args.sigma_L,
            max_steps=args.max_steps,
            seed=args.seed,
            final_denoise=False,
        )
        elapsed = time.perf_counter() - start
        y = result.samples
        f_y = model(y, training=False)
        x = f_y + op.adjoint(op.forward(y) - op.forward(f_y))
        off_x = consistency(op, x, measurement) / args.sigma_L
        off_f_y = consistency(op, f_y, measurement) / args.sigma_L

        print(
            f"| {name} | {op.num_measurements / op.num_values:.3f} "
            f"| {psnr(naive, images).mean():.2f} | {psnr(red, images).mean():.2f} "
            f"| {psnr(x, images).mean():.2f} | {psnr(f_y, images).mean():.2f} "
            f"| {int(result.num_steps.min())}-{int(result.num_steps.max())} "
            f"| {elapsed:.1f} | {off_x:.2f} | {off_f_y:.2f} |",
            flush=True,
        )


if __name__ == "__main__":
    main()
