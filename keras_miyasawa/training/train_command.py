"""`keras-miyasawa train`: train a denoiser and write it as a preset folder."""

import argparse
import shlex
import sys
import time
from pathlib import Path

from keras_miyasawa.training.train_denoiser import ARCHITECTURES
from keras_miyasawa.training.train_denoiser import PRECISIONS
from keras_miyasawa.training.train_denoiser import load_validation_images
from keras_miyasawa.training.train_denoiser import save_trained_preset
from keras_miyasawa.training.train_denoiser import train_denoiser
from keras_miyasawa.training.train_denoiser import training_metadata

DESCRIPTION = """\
Train a blind (bias-free by default) denoiser with model.fit on noisy patches
of --data, with checkpoints and resume, and write a preset folder to --out
that keras_miyasawa.from_preset loads. Training state (backup, last weights,
history.csv) goes to --work-dir; rerunning the same command after an
interruption resumes from the last completed epoch. Noise levels are in 0-255
units on the command line.
"""


def add_parser(subparsers):
    """Adds the `train` sub-command to an argparse `subparsers` object.

    Args:
        subparsers: the result of `ArgumentParser.add_subparsers()`.

    Returns:
        The `train` `ArgumentParser`.
    """
    parser = subparsers.add_parser(
        "train",
        help="train a denoiser and write a preset folder",
        description=DESCRIPTION,
        formatter_class=argparse.ArgumentDefaultsHelpFormatter,
    )
    parser.add_argument(
        "--data",
        required=True,
        help="training images: a folder of PNG/JPEG files or a TensorFlow "
        "Datasets name",
    )
    parser.add_argument("--arch", choices=sorted(ARCHITECTURES), default="dncnn")
    parser.add_argument("--channels", type=int, choices=(1, 3), default=1)
    parser.add_argument(
        "--sigma-range",
        default="0,55",
        help="noise standard deviation range MIN,MAX in 0-255 units (each patch "
        "gets a sigma uniform in it)",
    )
    parser.add_argument("--patch-size", type=int, default=40)
    parser.add_argument("--batch-size", type=int, default=64)
    parser.add_argument("--steps", type=int, default=100, help="steps per epoch")
    parser.add_argument("--epochs", type=int, default=10)
    parser.add_argument("--learning-rate", type=float, default=1e-3)
    parser.add_argument(
        "--precision",
        choices=PRECISIONS,
        default="float32",
        help="mixed_bfloat16: bfloat16 compute with float32 weights (faster on "
        "CPUs with bfloat16 instructions and recent GPUs); the preset is float32",
    )
    parser.add_argument("--depth", type=int, help="DnCNN depth (model default)")
    parser.add_argument(
        "--filters", type=int, help="hidden width (the model's default if omitted)"
    )
    parser.add_argument(
        "--levels", type=int, help="UNet levels (the model's default if omitted)"
    )
    parser.add_argument(
        "--batch-norm",
        choices=("on", "off"),
        help="batch norm after the hidden convs (the model's default if omitted: "
        "on for DnCNN, off for UNet). Off trains more reliably on low noise "
        "levels, where a bias-free batch norm's division by the batch std of "
        "uncentered features makes the first steps blow up",
    )
    parser.add_argument(
        "--biased",
        action="store_true",
        help="train the biased twin (Conv2D with bias, standard batch norm)",
    )
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--initial-weights",
        help="a preset name or folder of the same architecture to start from "
        "(fine-tuning)",
    )
    parser.add_argument(
        "--validation-data",
        help="optional folder of images; center crops of the first few feed "
        "the Miyasawa statistics logged each epoch",
    )
    parser.add_argument(
        "--distribute",
        choices=("none", "mirrored"),
        default="none",
        help="mirrored: tf.distribute.MirroredStrategy over the local devices",
    )
    parser.add_argument("--tfds-data-dir", help="TensorFlow Datasets data_dir")
    parser.add_argument(
        "--download", action="store_true", help="let TFDS download --data"
    )
    parser.add_argument("--out", required=True, help="the preset folder to write")
    parser.add_argument(
        "--work-dir", help="training state folder (default: OUT.training)"
    )
    parser.add_argument(
        "--overwrite", action="store_true", help="replace an existing --out folder"
    )
    parser.add_argument(
        "--verbose", type=int, choices=(0, 1, 2), default=1, help="1: progress bar"
    )
    return parser


def parse_sigma_range(text):
    """`"0,55"` (0-255 units) -> `(0.0, 55/255)` ([0, 1] units).

    Raises:
        ValueError: not two comma-separated numbers with 0 <= min <= max <= 255.
    """
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise ValueError(
            "--sigma-range must be MIN,MAX in 0-255 units, e.g. 0,55. "
            f"Received: --sigma-range={text!r}"
        ) from None
    if not 0.0 <= low <= high <= 255.0:
        raise ValueError(
            "--sigma-range must satisfy 0 <= MIN <= MAX <= 255 (0-255 units). "
            f"Received: --sigma-range={text!r}"
        )
    return low / 255.0, high / 255.0


def run(args):
    """Runs `keras-miyasawa train` with parsed `args`; returns the exit status."""
    try:
        sigma_range = parse_sigma_range(args.sigma_range)
    except ValueError as error:
        print(f"keras-miyasawa train: error: {error}", file=sys.stderr)
        return 2
    out = Path(args.out)
    if out.exists() and any(out.iterdir()) and not args.overwrite:
        print(
            f"keras-miyasawa train: error: --out {str(out)!r} exists and is not "
            "empty; pass --overwrite to replace it",
            file=sys.stderr,
        )
        return 2
    work_dir = Path(args.work_dir) if args.work_dir else Path(f"{out}.training")
    model_kwargs = {"bias_free": not args.biased}
    for name in ("depth", "filters", "levels"):
        if getattr(args, name, None) is not None:
            model_kwargs[name] = getattr(args, name)
    if args.batch_norm is not None:
        model_kwargs["batch_norm"] = args.batch_norm == "on"
    data_kwargs = {}
    if args.tfds_data_dir or args.download:
        data_kwargs = {"data_dir": args.tfds_data_dir, "download": args.download}
    validation = None
    if args.validation_data:
        validation = load_validation_images(
            args.validation_data, channels=args.channels
        )
    strategy = None
    if args.distribute == "mirrored":
        import tensorflow as tf

        strategy = tf.distribute.MirroredStrategy()

    started = time.time()
    model, history = train_denoiser(
        args.data,
        work_dir,
        arch=args.arch,
        channels=args.channels,
        model_kwargs=model_kwargs,
        sigma_range=sigma_range,
        patch_size=args.patch_size,
        batch_size=args.batch_size,
        steps_per_epoch=args.steps,
        epochs=args.epochs,
        learning_rate=args.learning_rate,
        precision=args.precision,
        initial_weights=args.initial_weights,
        seed=args.seed,
        strategy=strategy,
        validation_data=validation,
        data_kwargs=data_kwargs,
        verbose=args.verbose,
    )
    metadata = training_metadata(
        "keras-miyasawa " + shlex.join(sys.argv[1:]),
        args.data,
        sigma_range,
        time.time() - started,
        history,
    )
    save_trained_preset(model, out, metadata, overwrite=args.overwrite)
    print(f"wrote preset {out}")
    return 0
