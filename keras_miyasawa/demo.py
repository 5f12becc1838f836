"""`make demo` / `keras-miyasawa demo`: a bundled bias-free denoiser, end to end.

Offline, in about a minute on 2 CPU cores:

1. Miyasawa's identity checked on an exact Gaussian-mixture prior.
2. The project's own bias-free preset (`models/`) denoises a photograph that
   ships with matplotlib (no download); the score field comes from the residual
   by Miyasawa's identity, and the noise level is estimated blindly.
3. A few samples are drawn from the denoiser's implicit prior (coarse-to-fine
   ascent, Kadkhodaie & Simoncelli) and an inpainting problem is solved with the
   same network, no retraining.
4. One figure with all panels (`demo_output/demo.png`) and a printed report.

Run with `python -m keras_miyasawa.demo [--preset P] [--out DIR] [--seed S]`.
"""

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import matplotlib  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

import keras_miyasawa as km  # noqa: E402

DEFAULT_PRESET = km.presets.DEFAULT_PRESET


def _psnr(reference, image):
    return km.metrics.image_psnr(reference, np.clip(image, 0.0, 1.0))


def _sample_image(size=256):
    """matplotlib's grace_hopper.jpg: a gray float crop in [0, 1], (1, h, w, 1)."""
    path = matplotlib.cbook.get_sample_data("grace_hopper.jpg", asfileobj=False)
    rgb = np.asarray(matplotlib.image.imread(path), dtype="float32") / 255.0
    gray = rgb @ np.array([0.299, 0.587, 0.114], "float32")
    top = (gray.shape[0] - size) // 2
    left = (gray.shape[1] - size) // 2
    return gray[None, top : top + size, left : left + size, None]


def check_identity(seed):
    """Max relative error of x_hat = y + sigma^2 grad log p(y) on an exact prior."""
    rng = np.random.default_rng(seed)
    prior = km.priors.GaussianMixture(
        [0.3, 0.7], rng.normal(size=(2, 8)), [0.5, np.linspace(0.1, 1.0, 8)]
    )
    errors = []
    for sigma in (0.1, 0.5, 2.0):
        y = np.asarray(prior.sample(64, seed=seed, dtype="float64"))
        y = tf.constant(y + sigma * rng.normal(size=y.shape))
        with tf.GradientTape() as tape:
            tape.watch(y)
            total = tf.reduce_sum(prior.log_prob(y, sigma))
        grad = tape.gradient(total, y)
        x_hat = prior.denoise(y, sigma)
        # Miyasawa: x_hat = y + sigma^2 * grad log p(y).
        err = np.max(np.abs(x_hat - (y + sigma**2 * grad))) / np.max(np.abs(x_hat))
        errors.append(float(err))
    return max(errors)


class _Steps:
    """Prints numbered progress lines and keeps the time of each step."""

    def __init__(self, total):
        self.total = total
        self.count = 0
        self.seconds = {}

    def run(self, label, fn):
        self.count += 1
        print(f"[{self.count}/{self.total}] {label} ...", flush=True)
        start = time.perf_counter()
        result = fn()
        self.seconds[label] = time.perf_counter() - start
        return result


def add_arguments(parser):
    """The demo's options, shared by `python -m keras_miyasawa.demo` and the CLI."""
    parser.add_argument("--preset", default=DEFAULT_PRESET, help="preset name/folder")
    parser.add_argument("--sigma", type=float, default=25.0, help="noise, 0-255 units")
    parser.add_argument("--samples", type=int, default=3, help="prior samples")
    parser.add_argument("--out", default="demo_output", help="output folder")
    parser.add_argument("--seed", type=int, default=0)
    return parser


def main(argv=None):
    parser = add_arguments(argparse.ArgumentParser(description=__doc__.splitlines()[0]))
    return run(parser.parse_args(argv))


def run(args):
    """Runs the demo with parsed `args`; prints the report; returns 0."""
    if not 0 < args.sigma <= 255:
        raise ValueError(f"--sigma must be in (0, 255]. Received: --sigma={args.sigma}")
    if args.samples < 1:
        raise ValueError(f"--samples must be >= 1. Received: --samples={args.samples}")
    steps = _Steps(7)
    sigma = args.sigma / 255.0

    identity_error = steps.run(
        "Checking Miyasawa's identity",
        lambda: check_identity(args.seed),
    )
    model = steps.run("Loading the bundled preset", lambda: km.from_preset(args.preset))
    clean = _sample_image()
    rng = np.random.default_rng(args.seed)
    noisy = (clean + sigma * rng.normal(size=clean.shape)).astype("float32")
    denoised = steps.run(
        "Denoising a 256x256 photo",
        lambda: np.asarray(model.predict(noisy, verbose=0)),
    )
    score_field, sigma_hat = steps.run(
        "Score field and blind noise level",
        lambda: (
            np.asarray(km.extract_score_function(model, noisy, sigma)),
            float(np.asarray(km.estimate_noise_level(model, noisy))[0]),
        ),
    )

    samples = steps.run(
        "Sampling the implicit prior",
        lambda: km.samplers.coarse_to_fine(
            model, (args.samples, 40, 40, 1), h0=0.01, beta=0.1, seed=args.seed
        ),
    )
    crop = clean[:, 96:160, 96:160, :]
    operator = km.operators.Inpainting(hole=(20, 20, 24, 24), image_shape=(64, 64, 1))
    measurement = operator.forward(crop)
    solution = steps.run(
        "Inpainting a 24x24 hole",
        lambda: km.samplers.solve_inverse_problem(
            model, operator, measurement, h0=0.05, beta=0.05, seed=args.seed
        ),
    )
    baseline = np.asarray(operator.mean_fill(measurement))

    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    figure_path = out / "demo.png"
    panels = [clean, noisy, denoised, baseline, np.asarray(solution.samples)]
    titles = [
        "clean",
        f"noisy (sigma {args.sigma:g})",
        f"{args.preset}",
        "inpainting: mean fill",
        "inpainting: implicit prior",
    ]
    panels += [np.asarray(s)[None] for s in np.asarray(samples.samples)]
    titles += [f"prior sample {i + 1}" for i in range(args.samples)]

    def draw():
        grid = km.plot.image_grid(panels, titles=titles, columns=4)
        km.plot.save_figure(grid, figure_path)
        km.plot.score_field(noisy, denoised, sigma=sigma, path=out / "demo_score.png")

    steps.run("Writing the figures", draw)

    print()
    print("keras-miyasawa demo report")
    rows = [
        ("Miyasawa identity, exact prior", f"max rel. error {identity_error:.1e}"),
        ("preset", f"{args.preset} ({model.count_params():,} parameters)"),
        (
            "PSNR noisy / denoised",
            f"{_psnr(clean, noisy):.2f} / {_psnr(clean, denoised):.2f} dB",
        ),
        ("blind sigma_hat vs true sigma", f"{255 * sigma_hat:.2f} vs {args.sigma:.2f}"),
        (
            "score field (x_hat - y) / sigma^2",
            f"RMS {np.sqrt(np.mean(score_field**2)):.1f}",
        ),
        (
            "prior samples",
            f"{args.samples} chains, {int(samples.num_steps.max())} steps at most",
        ),
        (
            "inpainting PSNR mean fill / prior",
            f"{_psnr(crop, baseline):.2f} / "
            f"{_psnr(crop, np.asarray(solution.samples)):.2f} dB",
        ),
    ]
    rows += [
        (f"time: {label}", f"{secs:.1f} s") for label, secs in steps.seconds.items()
    ]
    rows.append(("figures", f"{figure_path}, {out / 'demo_score.png'}"))
    width = max(len(label) for label, _ in rows)
    for label, value in rows:
        print(f"  {label:<{width}}  {value}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
