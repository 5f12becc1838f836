"""The `keras-miyasawa` command line.

    keras-miyasawa presets list [--architecture {dncnn,unet}] [--json]
    keras-miyasawa presets show NAME [--json]
    keras-miyasawa presets import PATH --out DIR [--overwrite]
    keras-miyasawa train --data SRC --arch dncnn|unet --out DIR [...]

Noise levels on the command line are in 0-255 units (`--sigma 25` is 25/255
on [0, 1] images), as papers state them. Errors are reported as one line on
stderr with a non-zero exit status (2 for usage errors, 1 otherwise); set
`KERAS_MIYASAWA_DEBUG=1` to see the traceback instead.
"""

import argparse
import json
import os
import sys
from pathlib import Path

from keras_miyasawa import presets
from keras_miyasawa.training import train_command

PROG = "keras-miyasawa"


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
    return "/".join(f"{psnr[s]:.2f}" for s in sorted(psnr, key=float))


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


def build_parser():
    """The argument parser of `keras-miyasawa` (one sub-command per task)."""
    parser = _ArgumentParser(
        prog=PROG,
        description="Bias-free denoisers, Miyasawa scores and implicit priors. "
        "Images are in [0, 1]; noise levels (--sigma) are given in 0-255 units.",
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
        args = parser.parse_args(argv)
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 2
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
