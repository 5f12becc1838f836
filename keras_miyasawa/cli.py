"""The `keras-miyasawa` command line.

    keras-miyasawa presets list [--architecture {dncnn,unet}] [--json]
    keras-miyasawa presets show NAME [--json]
    keras-miyasawa presets import PATH --out DIR [--overwrite]
    keras-miyasawa train --data SRC --arch dncnn|unet --out DIR [...]
    keras-miyasawa denoise INPUT OUTPUT [--preset P] [--add-noise SIGMA] [--tile N]
                           [--batch-size B] [--jit] [--precision mixed_bfloat16]
    keras-miyasawa evaluate --data DIR [--preset P] [--sigma 15,25,50] [--json]
    keras-miyasawa sample OUTPUT [--preset P] [--size HxW] [--num N] [...]
    keras-miyasawa solve OPERATOR INPUT OUTPUT [--preset P] [...]
    keras-miyasawa bench [--json] [--quick] [...]   (source checkout only)

Noise levels on the command line are in 0-255 units (`--sigma 25` is 25/255
on [0, 1] images), as papers state them. Errors are reported as one line on
stderr with a non-zero exit status (2 for usage errors, 1 otherwise); set
`KERAS_MIYASAWA_DEBUG=1` to see the traceback instead.
"""

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

import numpy as np

from keras_miyasawa import _quiet_start
from keras_miyasawa import demo
from keras_miyasawa import evaluation
from keras_miyasawa import image_io
from keras_miyasawa import presets
from keras_miyasawa import tiling
from keras_miyasawa.metrics import image_psnr
from keras_miyasawa.training import train_command

PROG = "keras-miyasawa"
# The denoiser `denoise` and `evaluate` use unless --preset says otherwise.
DEFAULT_PRESET = presets.DEFAULT_PRESET


class _ArgumentParser(argparse.ArgumentParser):
    """Reports a usage error as a single line."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see `{self.prog} --help`)\n")


def _format_range(info):
    noise_range = info.get("training_noise_range_255")
    if noise_range is None and info.get("training_noise_range"):
        noise_range = [round(255 * v, 2) for v in info["training_noise_range"]]
    if not noise_range:
        return "-"
    return "-".join(f"{float(v):g}" for v in noise_range)


def _format_psnr(info):
    psnr = info.get("set12_psnr")
    if not psnr:
        return "-"
    # The table's columns; a card may list more levels (`presets show` has all).
    return "/".join(f"{psnr[s]:.2f}" if s in psnr else "-" for s in ("15", "25", "50"))


def _presets_list(args):
    names = presets.list_presets(architecture=args.architecture)
    infos = [presets.get_preset_info(name) for name in names]
    if args.json:
        print(json.dumps(infos, indent=2))
        return 0
    rows = [("name", "arch", "bias-free", "noise/255", "params", "Set12 PSNR", "")]
    for info in infos:
        rows.append(
            (
                info["name"],
                info["architecture"],
                "yes" if info["bias_free"] else "no",
                _format_range(info),
                f"{info['parameter_count']:,}",
                _format_psnr(info),
                "cached" if info.get("path") and info["kind"] == "reference" else "",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip())
    print(
        "\nSet12 PSNR in dB at sigma 15/25/50. Load one with "
        "keras_miyasawa.from_preset(name)."
    )
    return 0


def _presets_show(args):
    if os.path.isdir(args.name):
        info = presets.load_preset_metadata(args.name)
        info["path"] = os.path.abspath(args.name)
    else:
        info = presets.get_preset_info(args.name)
    if args.json:
        print(json.dumps(info, indent=2))
        return 0
    for key, value in info.items():
        if isinstance(value, (dict, list)):
            value = json.dumps(value)
        print(f"{key}: {value}")
    return 0


def _presets_import(args):
    out = Path(args.out)
    if out.exists() and not args.overwrite:
        if not out.is_dir() or any(out.iterdir()):
            raise FileExistsError(
                f"--out {args.out} already exists; pass --overwrite to replace it."
            )
    path = presets.convert_torch_checkpoint(
        args.path,
        args.out,
        architecture=args.architecture,
        overwrite=args.overwrite,
        sha256=args.sha256,
    )
    info = presets.load_preset_metadata(path)
    kind = "bias-free" if info["bias_free"] else "biased"
    print(
        f"Imported a {kind} {info['class_name']} ({info['parameter_count']:,} "
        f"parameters) to {path}. Load it with "
        f"keras_miyasawa.from_preset({str(path)!r})."
    )
    return 0


class _Progress:
    """A one-line progress bar on stderr, shown only when stderr is a terminal."""

    def __init__(self, label):
        self.label = label
        self.enabled = sys.stderr.isatty()
        self.start = time.perf_counter()

    def __call__(self, done, total):
        if not self.enabled:
            return
        filled = int(30 * done / max(total, 1))
        elapsed = time.perf_counter() - self.start
        sys.stderr.write(
            f"\r{self.label} [{'#' * filled}{'.' * (30 - filled)}] "
            f"{done}/{total} {elapsed:.0f}s"
        )
        if done >= total:
            sys.stderr.write("\n")
        sys.stderr.flush()


def _load_denoiser(preset):
    model = presets.from_preset(preset)
    return model, getattr(model, "channels", None)


def _check_channels(image, channels, preset, name):
    if channels is not None and image.shape[-1] != channels:
        raise ValueError(
            f"{name} has {image.shape[-1]} channel(s) but the preset {preset!r} "
            f"denoises {channels}-channel images; convert the image or pick a "
            f"{channels}-channel preset (`{PROG} presets list`)."
        )


def _positive_int(text):
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected an integer, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text!r}")
    return value


class _TiledDenoiser:
    """The prepared (folded, compiled) preset as a `denoise_tiled` callable.

    Keeps the model's config, from which `denoise_tiled` reads the
    receptive field and the downsampling grid of the tiles.
    """

    def __init__(self, model, options):
        self.model = model
        self.options = options

    def get_config(self):
        return self.model.get_config()

    def __call__(self, y):
        from keras_miyasawa import inference

        y = np.asarray(y, np.float32)
        return inference.denoise_images(
            self.model, y, batch_size=len(y), **self.options
        )


def _inference_options(args):
    return {
        "fold": not args.no_fold,
        "jit_compile": args.jit,
        "precision": args.precision,
    }


def _denoise_folder(args, sigma):
    from keras_miyasawa import inference

    output = Path(args.output)
    if output.exists() and not output.is_dir():
        raise ValueError(
            "INPUT is a folder, so OUTPUT must be a folder too. "
            f"Received: OUTPUT={args.output!r} (an existing file)"
        )
    if output.suffix.lower() in image_io.SUFFIXES and not output.exists():
        raise ValueError(
            "INPUT is a folder, so OUTPUT must be a folder, not an image file "
            f"name. Received: OUTPUT={args.output!r}"
        )
    if args.batch_size < 1:
        raise ValueError(f"--batch-size must be >= 1. Received: {args.batch_size}")
    model, _ = _load_denoiser(args.preset)
    start = time.perf_counter()
    rows = inference.denoise_folder(
        model,
        args.input,
        args.output,
        batch_size=args.batch_size,
        add_noise=None if sigma is None else sigma / 255.0,
        seed=args.seed,
        suffix=args.format and f".{args.format}",
        overwrite=args.overwrite,
        progress=_Progress("denoising"),
        **_inference_options(args),
    )
    seconds = time.perf_counter() - start
    report = {
        "input": str(args.input),
        "output": str(args.output),
        "preset": str(args.preset),
        "images": len(rows),
        "batch_size": args.batch_size,
        **_inference_options(args),
        "seconds": round(seconds, 3),
        "images_per_second": round(len(rows) / max(seconds, 1e-9), 3),
        "results": [
            {
                "input": row["input"],
                "output": row["output"],
                "shape": row["shape"],
                "sigma_hat_255": round(255.0 * row["sigma_hat"], 3),
                **{k: round(row[k], 4) for k in ("noisy_psnr", "psnr") if k in row},
            }
            for row in rows
        ],
    }
    if sigma is not None:
        report.update(
            {
                "seed": args.seed,
                "sigma_255": sigma,
                "noisy_psnr": round(float(np.mean([r["noisy_psnr"] for r in rows])), 4),
                "psnr": round(float(np.mean([r["psnr"] for r in rows])), 4),
            }
        )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"Denoised {len(rows)} image(s) of {args.input} with {args.preset} in "
        f"{seconds:.1f}s ({report['images_per_second']:.2f} images/s) -> "
        f"{args.output}"
    )
    if sigma is not None:
        print(
            f"added noise sigma {sigma} (seed {args.seed}): mean PSNR "
            f"{report['noisy_psnr']:.2f} dB noisy -> {report['psnr']:.2f} dB denoised"
        )
    return 0


def _denoise(args):
    sigma = None
    if args.add_noise is not None:
        sigma = evaluation.check_sigma_255(args.add_noise, "--add-noise")
    if Path(args.input).is_dir():
        return _denoise_folder(args, sigma)
    image_io.check_writable(args.output, args.overwrite, "OUTPUT")
    if args.tile and args.tile <= 2 * args.overlap:
        raise ValueError(
            "--tile must exceed twice --overlap. Received: "
            f"--tile={args.tile}, --overlap={args.overlap}"
        )
    image = image_io.read_image(args.input, "INPUT")
    model, channels = _load_denoiser(args.preset)
    _check_channels(image, channels, args.preset, f"INPUT={args.input!r}")
    start = time.perf_counter()
    noisy = image
    if sigma is not None:
        rng = np.random.default_rng(args.seed)
        noise = rng.standard_normal(image.shape, dtype=np.float32)
        noisy = image + noise * np.float32(sigma / 255.0)
        del noise
    prepared = _TiledDenoiser(model, _inference_options(args))
    if args.tile:
        denoised = tiling.denoise_tiled(
            prepared,
            noisy,
            tile=args.tile,
            overlap=args.overlap,
            batch_size=args.batch_size,
            progress=_Progress("denoising"),
        )
    else:
        denoised = prepared(noisy[None])[0]
    seconds = time.perf_counter() - start
    image_io.write_image(args.output, denoised, overwrite=args.overwrite)
    height, width, channels = image.shape
    residual = np.asarray(denoised, np.float64) - noisy
    report = {
        "input": str(args.input),
        "output": str(args.output),
        "preset": str(args.preset),
        "shape": [height, width, channels],
        "tile": args.tile,
        **_inference_options(args),
        "seconds": round(seconds, 3),
        # Miyasawa: x_hat - y = sigma^2 * score ~ -noise, so its RMS estimates sigma.
        "sigma_hat_255": round(255.0 * float(np.sqrt(np.mean(residual**2))), 3),
    }
    if sigma is not None:
        report.update(
            {
                "seed": args.seed,
                "sigma_255": sigma,
                "noisy_psnr": round(image_psnr(image, np.clip(noisy, 0.0, 1.0)), 4),
                "psnr": round(image_psnr(image, np.clip(denoised, 0.0, 1.0)), 4),
            }
        )
    if args.json:
        print(json.dumps(report, indent=2))
        return 0
    print(
        f"Denoised {args.input} ({height}x{width}x{channels}) with "
        f"{args.preset} in {seconds:.1f}s -> {args.output}"
    )
    print(f"estimated noise level (0-255): {report['sigma_hat_255']:.2f}")
    if sigma is not None:
        print(
            f"added noise sigma {sigma} (seed {args.seed}): PSNR "
            f"{report['noisy_psnr']:.2f} dB noisy -> {report['psnr']:.2f} dB denoised"
        )
    return 0


def _parse_sigmas(text):
    parts = [part.strip() for part in text.split(",") if part.strip()]
    if not parts:
        raise ValueError(
            "--sigma must be comma-separated noise levels in 0-255 units, e.g. "
            f"15,25,50. Received: --sigma={text!r}"
        )
    return [evaluation.check_sigma_255(part, "--sigma") for part in parts]


def _evaluate(args):
    sigmas = _parse_sigmas(args.sigma)
    if not Path(args.data).is_dir():
        raise FileNotFoundError(f"No such folder: --data={args.data!r}")
    model, channels = _load_denoiser(args.preset)
    images = evaluation.load_images(args.data, channels=channels, name="--data")
    start = time.perf_counter()
    table = evaluation.evaluate_denoiser(
        model,
        images,
        sigmas,
        seed=args.seed,
        ssim=True,
        tile=args.tile or None,
        progress=_Progress("evaluating"),
    )
    seconds = time.perf_counter() - start
    if args.json:
        payload = {
            "preset": str(args.preset),
            "data": str(args.data),
            "images": len(images),
            "seed": args.seed,
            "clip": [0.0, 1.0],
            "seconds": round(seconds, 3),
            "results": {
                str(s): {k: round(v, 4) for k, v in row.items()}
                for s, row in table.items()
            },
        }
        print(json.dumps(payload, indent=2))
        return 0
    print(
        f"{args.preset} on {len(images)} image(s) of {args.data} "
        f"(noise seed {args.seed}, estimates clipped to [0, 1]):"
    )
    print(f"{'sigma':>6}  {'noisy PSNR':>10}  {'PSNR':>7}  {'SSIM':>6}")
    for sigma, row in table.items():
        print(
            f"{sigma:>6}  {row['input_psnr']:>10.2f}  {row['psnr']:>7.2f}  "
            f"{row['ssim']:>6.4f}"
        )
    print(f"({seconds:.1f}s; PSNR in dB, means over the images)")
    return 0


def _add_denoise_parser(commands):
    parser = commands.add_parser(
        "denoise",
        help="denoise an image file (PNG/JPEG/TIFF/.npy) or a folder of them",
        description="Denoise INPUT with a preset and write the estimate to OUTPUT. "
        "Images are read as [0, 1] floats; PNG/JPEG/TIFF outputs are clipped and "
        "8-bit, .npy outputs are the float32 estimate. Large images are processed "
        "in overlapping tiles (--tile), which gives the same result as the whole "
        "image at once with bounded memory. When INPUT is a folder, every image "
        "in it is denoised (images of equal size batched together, --batch-size "
        "at a time) into the folder OUTPUT under the same name; existing outputs "
        "are kept unless --overwrite. Batch norm is folded into the convolutions "
        "first (same outputs, faster). Noise levels are in 0-255 units.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "input", metavar="INPUT", help="the image, or a folder of images, to denoise"
    )
    parser.add_argument(
        "output",
        metavar="OUTPUT",
        help="the file to write (.png/.jpg/.tif/.npy), or a folder when INPUT is one",
    )
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, help="a preset name or preset folder"
    )
    parser.add_argument(
        "--add-noise",
        type=float,
        metavar="SIGMA",
        help="first add Gaussian noise of this std (0-255 units, e.g. 25) and "
        "report PSNRs against INPUT",
    )
    parser.add_argument(
        "--tile",
        type=_positive_int,
        default=256,
        help="tile size in pixels (0: the whole image at once)",
    )
    parser.add_argument(
        "--overlap",
        type=_positive_int,
        default=32,
        help="context pixels around each tile (at least the network's "
        "receptive-field radius)",
    )
    parser.add_argument(
        "--batch-size",
        type=int,
        default=4,
        help="tiles (or, for a folder, images of equal size) per forward pass",
    )
    parser.add_argument(
        "--jit", action="store_true", help="compile the network with XLA"
    )
    parser.add_argument(
        "--precision",
        choices=("float32", "mixed_bfloat16"),
        default="float32",
        help="mixed_bfloat16: bfloat16 activations, float32 weights and output "
        "(faster on CPUs/GPUs with bfloat16 units, a little less PSNR)",
    )
    parser.add_argument(
        "--no-fold",
        action="store_true",
        help="run the network as built, without folding batch norm",
    )
    parser.add_argument(
        "--format",
        choices=("png", "jpg", "tif", "npy"),
        help="output format for a folder (default: each input's own)",
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of --add-noise")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing OUTPUT"
    )
    parser.set_defaults(handler=_denoise)
    return parser


def _add_evaluate_parser(commands):
    parser = commands.add_parser(
        "evaluate",
        help="mean PSNR/SSIM of a preset on a folder of images",
        description="Add Gaussian noise (seeded) to every image of --data, denoise "
        "it with the preset, clip the estimate to [0, 1] and print the mean PSNR "
        "and SSIM per noise level. Noise levels are in 0-255 units.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, help="a preset name or preset folder"
    )
    parser.add_argument(
        "--data", required=True, help="a folder of PNG/JPEG/TIFF/.npy images"
    )
    parser.add_argument(
        "--sigma",
        default="15,25,50",
        help="comma-separated noise std in 0-255 units",
    )
    parser.add_argument("--seed", type=int, default=0, help="noise seed")
    parser.add_argument(
        "--tile",
        type=_positive_int,
        default=0,
        help="denoise in tiles of this size (0: whole images)",
    )
    parser.add_argument("--json", action="store_true", help="print JSON")
    parser.set_defaults(handler=_evaluate)
    return parser


def _parse_size(text):
    try:
        height, width = (int(v) for v in text.lower().split("x"))
    except ValueError:
        raise ValueError(
            f"--size must be HEIGHTxWIDTH, e.g. 64x64. Received: --size={text!r}"
        ) from None
    if height < 1 or width < 1:
        raise ValueError(f"--size must be positive. Received: --size={text!r}")
    return height, width


def _sampler_options(args):
    return {
        "h0": args.h0,
        "beta": args.beta,
        "sigma_L": args.sigma_l / 255.0,
        "max_steps": args.max_steps,
        "seed": args.seed,
    }


def _notice(message):
    if sys.stderr.isatty():
        print(message, file=sys.stderr, flush=True)


def _write_samples(path, samples, overwrite):
    """`.npy`: the `(n, h, w, c)` batch; image files: the samples side by side."""
    samples = np.asarray(samples, np.float32)
    if Path(path).suffix.lower() == ".npy":
        image_io.check_writable(path, overwrite, "OUTPUT")
        return image_io.atomic_write(path, lambda file: np.save(file, samples))
    strip = np.concatenate(list(samples), axis=1)
    return image_io.write_image(path, strip, overwrite=overwrite)


def _check_new_figure(path, overwrite, name):
    if Path(path).exists() and not overwrite:
        raise FileExistsError(
            f"{name}={path!r} already exists; pass --overwrite to replace it."
        )


class _Ticker:
    """Elapsed seconds on stderr while a compiled sampler runs (terminals only)."""

    def __init__(self, label):
        self.label = label
        self.enabled = sys.stderr.isatty()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self):
        start = time.perf_counter()
        while not self._done.wait(1.0):
            elapsed = time.perf_counter() - start
            sys.stderr.write(f"\r{self.label} {elapsed:.0f}s")
            sys.stderr.flush()

    def __enter__(self):
        if self.enabled:
            sys.stderr.write(f"{self.label} 0s")
            sys.stderr.flush()
            self._thread.start()
        return self

    def __exit__(self, *exc_info):
        if self.enabled:
            self._done.set()
            self._thread.join()
            sys.stderr.write("\n")
            sys.stderr.flush()


def _run_sampler(args, model, shape):
    """Runs `--sampler`; returns `(samples, sigmas or None, steps, converged)`."""
    from keras_miyasawa import samplers

    num = shape[0]
    if args.sampler == "coarse-to-fine":
        result = samplers.coarse_to_fine(model, shape, **_sampler_options(args))
        steps = [int(v) for v in result.num_steps]
        converged = [bool(v) for v in result.converged]
        return result.samples, result.sigmas, steps, converged
    if args.sampler == "annealed-langevin":
        samples = samplers.annealed_langevin(
            model,
            shape,
            sigma_max=args.sigma_max / 255.0,
            sigma_min=args.sigma_min / 255.0,
            num_levels=args.num_levels,
            steps_per_level=args.steps_per_level,
            epsilon=args.epsilon,
            seed=args.seed,
        )
        return samples, None, [args.num_levels * args.steps_per_level] * num, None
    samples = samplers.sample_with_denoiser(
        model,
        shape,
        sigma=args.sigma / 255.0,
        num_steps=args.num_steps,
        step_size=args.step_size,
        decay_rate=args.decay_rate,
        seed=args.seed,
    )
    return samples, None, [args.num_steps] * num, None


def _sample(args):
    from keras_miyasawa import plot

    image_io.check_writable(args.output, args.overwrite, "OUTPUT")
    if args.sigma_plot:
        if args.sampler != "coarse-to-fine":
            raise ValueError(
                "--sigma-plot needs --sampler coarse-to-fine (the only sampler "
                f"that measures sigma_t). Received: --sampler={args.sampler}"
            )
        _check_new_figure(args.sigma_plot, args.overwrite, "--sigma-plot")
    height, width = _parse_size(args.size)
    if args.num < 1:
        raise ValueError(f"--num must be >= 1. Received: --num={args.num}")
    model, channels = _load_denoiser(args.preset)
    shape = (args.num, height, width, channels or 1)
    start = time.perf_counter()
    label = f"sampling {args.num} image(s) of {height}x{width} with {args.sampler}"
    with _Ticker(label):
        samples, sigmas, steps, converged = _run_sampler(args, model, shape)
    seconds = time.perf_counter() - start
    _write_samples(args.output, samples, args.overwrite)
    if args.sigma_plot:
        plot.sigma_trajectory(
            np.asarray(sigmas).T, path=args.sigma_plot, target=args.sigma_l / 255
        )
    report = {
        "output": str(args.output),
        "preset": str(args.preset),
        "sampler": args.sampler,
        "shape": list(shape),
        "seed": args.seed,
        "num_steps": steps,
        "converged": converged,
        "seconds": round(seconds, 3),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        span = f"{min(steps)}-{max(steps)}" if min(steps) < max(steps) else steps[0]
        print(
            f"Drew {args.num} sample(s) of {height}x{width} from {args.preset} with "
            f"{args.sampler} in {seconds:.1f}s ({span} steps) -> {args.output}"
        )
    return 0


_OPERATORS = {
    "inpaint": "Inpainting",
    "random-pixels": "RandomPixels",
    "super-resolution": "SuperResolution",
    "spectral": "SpectralLowPass",
    "compressive-sensing": "CompressiveSensing",
}


def _make_operator(args, image_shape):
    from keras_miyasawa import operators

    height, width, _ = image_shape
    if args.operator == "inpaint":
        if args.hole:
            try:
                hole = tuple(int(v) for v in args.hole.split(","))
            except ValueError:
                raise ValueError(
                    "--hole must be TOP,LEFT,HEIGHT,WIDTH. "
                    f"Received: --hole={args.hole!r}"
                ) from None
        else:
            hole = (height // 4, width // 4, height // 2, width // 2)
        return operators.Inpainting(hole=hole, image_shape=image_shape)
    if args.operator == "super-resolution":
        return operators.SuperResolution(args.factor, image_shape=image_shape)
    if args.operator == "spectral":
        return operators.SpectralLowPass(args.fraction, image_shape=image_shape)
    cls = getattr(operators, _OPERATORS[args.operator])
    return cls(args.fraction, seed=args.seed, image_shape=image_shape)


def _solve(args):
    from keras_miyasawa import plot
    from keras_miyasawa import samplers

    image_io.check_writable(args.output, args.overwrite, "OUTPUT")
    if args.figure:
        _check_new_figure(args.figure, args.overwrite, "--figure")
    image = np.array(image_io.read_image(args.input, "INPUT"), np.float32)
    model, channels = _load_denoiser(args.preset)
    _check_channels(image, channels, args.preset, f"INPUT={args.input!r}")
    operator = _make_operator(args, image.shape)
    measurement = operator.forward(image[None])
    _notice(f"solving {args.operator} on {args.input} ...")
    start = time.perf_counter()
    result = samplers.solve_inverse_problem(
        model, operator, measurement, **_sampler_options(args)
    )
    seconds = time.perf_counter() - start
    solution = np.asarray(result.samples)[0]
    baseline = np.asarray(operator.mean_fill(measurement))[0]
    image_io.write_image(args.output, solution, overwrite=args.overwrite)
    if args.figure:
        plot.image_grid(
            [image, baseline, solution],
            ["original", f"{args.operator} (mean fill)", "solution"],
            reference=image,
            path=args.figure,
        )
    report = {
        "input": str(args.input),
        "output": str(args.output),
        "operator": args.operator,
        "preset": str(args.preset),
        "measurements": int(operator.num_measurements),
        "values": int(operator.num_values),
        "seed": args.seed,
        "num_steps": int(result.num_steps[0]),
        "converged": bool(result.converged[0]),
        "baseline_psnr": round(image_psnr(image, np.clip(baseline, 0, 1)), 4),
        "psnr": round(image_psnr(image, np.clip(solution, 0, 1)), 4),
        "seconds": round(seconds, 3),
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(
            f"Solved {args.operator} ({report['measurements']} of "
            f"{report['values']} values measured) in {seconds:.1f}s, "
            f"{report['num_steps']} steps -> {args.output}"
        )
        print(
            f"PSNR against INPUT: {report['baseline_psnr']:.2f} dB mean fill -> "
            f"{report['psnr']:.2f} dB solution"
        )
    return 0


def _add_sampler_arguments(parser):
    parser.add_argument(
        "--preset", default=DEFAULT_PRESET, help="a preset name or preset folder"
    )
    parser.add_argument("--h0", type=float, default=0.01, help="first step size")
    parser.add_argument(
        "--beta",
        type=float,
        default=0.01,
        help="fraction of noise removed per step (1: deterministic)",
    )
    parser.add_argument(
        "--sigma-l",
        type=float,
        default=2.55,
        help="stopping noise level sigma_L (0-255 units)",
    )
    parser.add_argument("--max-steps", type=int, default=1000, help="step bound")
    parser.add_argument("--seed", type=int, default=0, help="random seed")
    parser.add_argument("--json", action="store_true", help="print a JSON report")
    parser.add_argument(
        "--overwrite", action="store_true", help="replace existing output files"
    )


def _add_sample_parser(commands):
    parser = commands.add_parser(
        "sample",
        help="draw images from the prior implicit in a denoiser",
        description="Draw samples from the prior implicit in a blind denoiser. "
        "--sampler coarse-to-fine (default): Kadkhodaie & Simoncelli (2021), "
        "which reads the noise level off the residual and stops at --sigma-l "
        "(options --h0, --beta, --sigma-l, --max-steps). annealed-langevin: Song "
        "& Ermon (2019), --num-levels geometric noise levels from --sigma-max to "
        "--sigma-min, --steps-per-level steps each, step epsilon * "
        "(sigma_i / sigma_min)^2. langevin: the guide's sample_with_denoiser, "
        "--num-steps steps of size --step-size while sigma decays by "
        "--decay-rate per step from --sigma (it overshoots once step_size / "
        "sigma^2 exceeds about 2, reported as an error). Noise levels are in "
        "0-255 units. OUTPUT: a .npy file gets the (n, h, w, c) batch, an image "
        "file the samples side by side.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument("output", metavar="OUTPUT", help="the file to write")
    parser.add_argument(
        "--sampler",
        choices=("coarse-to-fine", "annealed-langevin", "langevin"),
        default="coarse-to-fine",
        help="the sampling algorithm",
    )
    parser.add_argument("--size", default="64x64", help="HEIGHTxWIDTH")
    parser.add_argument("--num", type=int, default=1, help="number of samples")
    parser.add_argument(
        "--sigma-plot",
        help="coarse-to-fine: also save the sigma_t trajectory figure here",
    )
    _add_sampler_arguments(parser)
    annealed = parser.add_argument_group("annealed-langevin")
    annealed.add_argument(
        "--sigma-max", type=float, default=255.0, help="first noise level (0-255)"
    )
    annealed.add_argument(
        "--sigma-min", type=float, default=2.55, help="last noise level (0-255)"
    )
    annealed.add_argument(
        "--num-levels", type=int, default=10, help="number of noise levels"
    )
    annealed.add_argument(
        "--steps-per-level", type=int, default=100, help="steps at each level"
    )
    annealed.add_argument(
        "--epsilon", type=float, default=2e-5, help="step at the last level"
    )
    langevin = parser.add_argument_group("langevin")
    langevin.add_argument(
        "--sigma", type=float, default=255.0, help="initial noise level (0-255)"
    )
    langevin.add_argument("--num-steps", type=int, default=200, help="steps")
    langevin.add_argument(
        "--step-size", type=float, default=0.01, help="the Langevin step"
    )
    langevin.add_argument(
        "--decay-rate", type=float, default=0.99, help="sigma's factor per step"
    )
    parser.set_defaults(handler=_sample)
    return parser


def _add_solve_parser(commands):
    parser = commands.add_parser(
        "solve",
        help="solve a linear inverse problem with a denoiser's implicit prior",
        description="Measure INPUT with a linear operator, then reconstruct it "
        "from the measurements with the implicit prior of the preset "
        "(Kadkhodaie & Simoncelli 2021) and write the solution to OUTPUT.",
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "operator",
        choices=sorted(_OPERATORS),
        metavar="OPERATOR",
        help=f"one of {', '.join(sorted(_OPERATORS))}",
    )
    parser.add_argument("input", metavar="INPUT", help="the clean image to measure")
    parser.add_argument("output", metavar="OUTPUT", help="the file to write")
    parser.add_argument(
        "--fraction",
        type=float,
        default=0.1,
        help="random-pixels / spectral / compressive-sensing: fraction measured",
    )
    parser.add_argument(
        "--factor", type=int, default=4, help="super-resolution: downsampling factor"
    )
    parser.add_argument(
        "--hole",
        help="inpaint: TOP,LEFT,HEIGHT,WIDTH of the missing rectangle "
        "(default: the central half)",
    )
    parser.add_argument(
        "--figure", help="also save a figure: original, mean fill, solution"
    )
    _add_sampler_arguments(parser)
    parser.set_defaults(handler=_solve)
    return parser


# Overrides where `bench` looks for benchmarks/bench.py (the folder holding it).
BENCHMARKS_DIR_ENV = "KERAS_MIYASAWA_BENCHMARKS_DIR"


def _bench_script():
    value = os.environ.get(BENCHMARKS_DIR_ENV)
    if value:
        return Path(value).expanduser() / "bench.py"
    root = Path(__file__).resolve().parents[1]
    # Only a source checkout (setup.cfg beside the package) has benchmarks/.
    if not (root / "setup.cfg").is_file():
        return None
    return root / "benchmarks" / "bench.py"


def _bench(args):
    script = _bench_script()
    if script is None or not script.is_file():
        where = script or Path(__file__).resolve().parents[1] / "benchmarks"
        print(
            f"{PROG} bench needs a source checkout with benchmarks/bench.py; not "
            f"found at {where} (clone the repository, or set "
            f"{BENCHMARKS_DIR_ENV} to its benchmarks folder)",
            file=sys.stderr,
        )
        return 1
    sys.stdout.flush()
    # A child process: library code never imports benchmarks/ (STYLE.md).
    with _quiet_start.quiet_child_process():
        return subprocess.call([sys.executable, str(script), *args.bench_args])


def _add_bench_parser(commands):
    parser = commands.add_parser(
        "bench",
        help="run the speed benchmarks (benchmarks/bench.py of a source checkout)",
        description="Run benchmarks/bench.py of the source checkout this package "
        "is installed from, in a child process with this Python, and exit with its "
        "status. Every other argument goes to bench.py: --json (one JSON object "
        "at the end), --quick (fewer repeats), --no-xla (skip jit_compile), "
        "--matmul-size N, --tiled-filters N. It measures the float32 matmul peak, "
        "BF-DnCNN inference against it and against a plain Keras DnCNN, sampler "
        "and training throughput and the memory of tiled denoising (minutes on a "
        "laptop CPU). Same as `make bench`.",
        usage=f"{PROG} bench [-h] [--json] [--quick] [--no-xla] [--matmul-size N] "
        "[--tiled-filters N]",
        allow_abbrev=False,
    )
    parser.set_defaults(handler=_bench, bench_args=[])
    return parser


def build_parser():
    """The argument parser of `keras-miyasawa` (one sub-command per task)."""
    parser = _ArgumentParser(
        prog=PROG,
        description="Bias-free denoisers, Miyasawa scores and implicit priors. "
        "Images are in [0, 1]; noise levels (--sigma) are given in 0-255 units.",
    )
    parser.add_argument(
        "--verbose",
        action="store_true",
        help="show TensorFlow's start-up log lines (hidden by default; also "
        "KERAS_MIYASAWA_VERBOSE=1 or TF_CPP_MIN_LOG_LEVEL=0)",
    )
    commands = parser.add_subparsers(
        dest="command", metavar="COMMAND", parser_class=_ArgumentParser
    )
    commands.required = True

    preset_parser = commands.add_parser(
        "presets", help="list, inspect and import pretrained presets"
    )
    preset_commands = preset_parser.add_subparsers(
        dest="presets_command", metavar="ACTION", parser_class=_ArgumentParser
    )
    preset_commands.required = True

    list_parser = preset_commands.add_parser("list", help="list the known presets")
    list_parser.add_argument(
        "--architecture", choices=("dncnn", "unet"), help="only this architecture"
    )
    list_parser.add_argument("--json", action="store_true", help="print JSON")
    list_parser.set_defaults(handler=_presets_list)

    show_parser = preset_commands.add_parser(
        "show", help="show what is known about one preset"
    )
    show_parser.add_argument("name", help="a preset name or a preset folder")
    show_parser.add_argument("--json", action="store_true", help="print JSON")
    show_parser.set_defaults(handler=_presets_show)

    import_parser = preset_commands.add_parser(
        "import",
        help="convert a PyTorch DnCNN/UNet checkpoint into a preset folder",
        description="Convert a PyTorch checkpoint (Mohan et al. 2020 DnCNN or "
        "UNet state dict, legacy or zip torch.save format) into a preset folder. "
        "The file is read without PyTorch and without running pickled code.",
    )
    import_parser.add_argument("path", help="the .pt / .pth file")
    import_parser.add_argument(
        "--out", required=True, help="the preset folder to create"
    )
    import_parser.add_argument(
        "--architecture",
        choices=("dncnn", "unet"),
        help="expected architecture (inferred from the state dict by default)",
    )
    import_parser.add_argument(
        "--sha256", help="refuse the file unless it has this sha256"
    )
    import_parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing preset folder"
    )
    import_parser.set_defaults(handler=_presets_import)

    train_command.add_parser(commands).set_defaults(handler=train_command.run)

    demo_parser = commands.add_parser(
        "demo",
        help="the bundled preset end to end: denoise, score, sample, inpaint",
        description=demo.__doc__.splitlines()[0],
    )
    demo.add_arguments(demo_parser).set_defaults(handler=demo.run)
    _add_denoise_parser(commands)
    _add_evaluate_parser(commands)
    _add_sample_parser(commands)
    _add_solve_parser(commands)
    _add_bench_parser(commands)
    return parser


def main(argv=None):
    """Runs the command line; returns the exit status.

    Args:
        argv: the arguments without the program name. Defaults to
            `sys.argv[1:]`.

    Returns:
        0 on success, 1 on an error, 2 on a usage error.
    """
    parser = build_parser()
    try:
        args, extra = parser.parse_known_args(argv)
        if extra and args.handler is not _bench:
            parser.error(f"unrecognized arguments: {' '.join(extra)}")
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
    if extra:
        args.bench_args = extra
    try:
        return args.handler(args)
    except KeyboardInterrupt:
        print(f"{PROG}: interrupted", file=sys.stderr)
        return 130
    except Exception as error:
        if os.environ.get("KERAS_MIYASAWA_DEBUG"):
            raise
        message = " ".join(str(error).split()) or type(error).__name__
        print(f"{PROG}: error: {message}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
