"""Preset folders: `config.json`, `model.weights.h5`, `metadata.json`, `README.md`.

The layout of KerasHub presets: `config.json` is
`keras.saving.serialize_keras_object(model)` (with the registered class name),
the weights are `model.save_weights`, and `metadata.json` records what a user
needs to trust and use them, including the sha256 of the weights file, which
is checked on every load.
"""

import json
import os
import shutil
import tempfile
from pathlib import Path

import keras

from keras_miyasawa.models.denoiser import Denoiser
from keras_miyasawa.presets.cache import IntegrityError
from keras_miyasawa.presets.cache import sha256_file
from keras_miyasawa.version import __version__

CONFIG_FILE = "config.json"
WEIGHTS_FILE = "model.weights.h5"
METADATA_FILE = "metadata.json"
README_FILE = "README.md"
PRESET_FILES = (CONFIG_FILE, WEIGHTS_FILE, METADATA_FILE, README_FILE)
FORMAT_VERSION = 1
# Written by `save_to_preset`; a caller's metadata cannot override them.
_COMPUTED_FIELDS = (
    "format_version",
    "class_name",
    "registered_name",
    "architecture",
    "channels",
    "bias_free",
    "parameter_count",
    "keras_version",
    "keras_miyasawa_version",
    "weights_sha256",
)


class PresetError(ValueError):
    """A preset that cannot be found, read or loaded into the requested class."""


def _architecture(model):
    return type(model).__name__.lower()


def build_metadata(model, metadata=None):
    """The `metadata.json` content of `model`, merged with caller fields.

    Args:
        model: a `Denoiser`.
        metadata: optional dict of descriptive fields, e.g. `description`,
            `training_data`, `training_noise_range` (in [0, 1] units),
            `set12_psnr` (`{"15": dB, "25": dB, "50": dB}`), `source`,
            `license`, `citation`, `training_command`.

    Returns:
        A JSON-serializable dict (the weights sha256 is filled in on save).
    """
    result = {
        "format_version": FORMAT_VERSION,
        "class_name": type(model).__name__,
        "registered_name": keras.saving.get_registered_name(type(model)),
        "architecture": _architecture(model),
        "channels": int(model.channels),
        "bias_free": bool(model.bias_free),
        "data_range": [0.0, 1.0],
        "training_noise_range": None,
        "training_data": None,
        "parameter_count": int(model.count_params()),
        "keras_version": keras.__version__,
        "keras_miyasawa_version": __version__,
        "weights_sha256": None,
    }
    for key, value in (metadata or {}).items():
        if key in _COMPUTED_FIELDS:
            continue
        result[key] = value
    return result


def _format_range(noise_range):
    if not noise_range:
        return "unknown"
    low, high = (round(255 * float(v), 2) for v in noise_range)
    return f"[{low:g}, {high:g}] / 255"


def render_model_card(metadata, name=None):
    """The `README.md` model card of a preset, from its metadata.

    Args:
        metadata: the preset's metadata dict.
        name: the preset name shown in the title and the usage snippet.

    Returns:
        Markdown text.
    """
    name = name or metadata.get("name") or metadata["architecture"]
    bias = "bias-free" if metadata["bias_free"] else "biased"
    lines = [
        f"# {name}",
        "",
        metadata.get("description")
        or f"A {bias} {metadata['class_name']} denoiser for keras-miyasawa.",
        "",
        "| field | value |",
        "| --- | --- |",
        f"| architecture | `{metadata['class_name']}` ({bias}) |",
        f"| channels | {metadata['channels']} |",
        f"| data range | {metadata['data_range']} (float32, NHWC) |",
        "| training noise std | "
        f"{_format_range(metadata.get('training_noise_range'))} |",
        f"| training data | {metadata.get('training_data') or 'unknown'} |",
        f"| parameters | {metadata['parameter_count']:,} |",
        f"| keras / keras-miyasawa | {metadata['keras_version']} / "
        f"{metadata['keras_miyasawa_version']} |",
        f"| `model.weights.h5` sha256 | `{metadata['weights_sha256']}` |",
    ]
    for key, label in (("license", "license"), ("source", "source")):
        if metadata.get(key):
            value = metadata[key]
            if isinstance(value, dict):
                value = ", ".join(f"{k}: {v}" for k, v in value.items())
            lines.append(f"| {label} | {value} |")
    psnr = metadata.get("set12_psnr")
    if psnr:
        sigmas = sorted(psnr, key=float)
        lines += [
            "",
            "## Set12 PSNR (dB)",
            "",
            "| " + " | ".join(f"sigma {s}" for s in sigmas) + " |",
            "|" + " --- |" * len(sigmas),
            "| " + " | ".join(f"{psnr[s]:.2f}" for s in sigmas) + " |",
            "",
            "Mean over the 12 images, Gaussian noise of std sigma/255 (seeded), "
            "output clipped to [0, 1]. Reproduce with "
            f"`python benchmarks/reference_psnr.py --preset {name}`.",
        ]
    if metadata.get("training_command"):
        lines += ["", "## Training", "", f"    {metadata['training_command']}"]
    lines += [
        "",
        "## Usage",
        "",
        "```python",
        "import keras_miyasawa as km",
        "",
        f'denoiser = km.from_preset("{name}")',
        "x_hat = denoiser.predict(y)  # y: float32 NHWC in [0, 1]",
        "```",
    ]
    if metadata.get("citation"):
        lines += ["", "## Citation", "", metadata["citation"]]
    return "\n".join(lines) + "\n"


def _is_preset_like(directory):
    entries = {entry.name for entry in directory.iterdir()}
    return entries <= set(PRESET_FILES)


def save_to_preset(model, preset_dir, metadata=None, overwrite=False, name=None):
    """Saves a denoiser as a preset folder, atomically.

    The folder is written under a temporary name next to `preset_dir` and
    renamed into place when complete, so a crash never leaves half a preset.

    Args:
        model: a `keras_miyasawa.models.Denoiser` (e.g. `DnCNN`, `UNet`).
        preset_dir: the folder to create.
        metadata: optional descriptive fields for `metadata.json` (see
            `build_metadata`).
        overwrite: replace an existing preset folder. Defaults to `False`.
        name: the preset name shown in the model card. Defaults to the
            folder name.

    Returns:
        `preset_dir` as a `pathlib.Path`.

    Raises:
        TypeError: if `model` is not a `Denoiser`.
        FileExistsError: if `preset_dir` exists and is not empty, unless
            `overwrite=True`; with `overwrite=True`, if it holds files that are
            not part of a preset.

    Example:

    >>> import tempfile
    >>> import keras_miyasawa as km
    >>> model = km.models.UNet(filters=8)
    >>> preset_dir = km.presets.save_to_preset(model, tempfile.mkdtemp() + "/unet")
    >>> km.from_preset(preset_dir).filters
    8
    """
    if not isinstance(model, Denoiser):
        raise TypeError(
            "model must be a keras_miyasawa Denoiser (e.g. DnCNN, UNet). "
            f"Received: model of type {type(model).__name__}"
        )
    preset_dir = Path(preset_dir).expanduser()
    if preset_dir.exists():
        if not preset_dir.is_dir():
            raise FileExistsError(
                f"preset_dir exists and is not a folder. Received: "
                f"preset_dir={str(preset_dir)!r}"
            )
        if any(preset_dir.iterdir()):
            if not overwrite:
                raise FileExistsError(
                    f"preset_dir already exists and is not empty. Received: "
                    f"preset_dir={str(preset_dir)!r}. Pass overwrite=True to "
                    "replace it."
                )
            if not _is_preset_like(preset_dir):
                raise FileExistsError(
                    "Refusing to overwrite a folder that holds files other than a "
                    f"preset's {PRESET_FILES}. Received: "
                    f"preset_dir={str(preset_dir)!r}"
                )
    preset_dir.parent.mkdir(parents=True, exist_ok=True)
    temp_dir = Path(
        tempfile.mkdtemp(dir=preset_dir.parent, prefix=f".{preset_dir.name}.tmp-")
    )
    try:
        model.save_weights(temp_dir / WEIGHTS_FILE)
        config = keras.saving.serialize_keras_object(model)
        meta = build_metadata(model, metadata)
        meta["weights_sha256"] = sha256_file(temp_dir / WEIGHTS_FILE)
        _write_text(temp_dir / CONFIG_FILE, json.dumps(config, indent=2) + "\n")
        _write_text(temp_dir / METADATA_FILE, json.dumps(meta, indent=2) + "\n")
        _write_text(
            temp_dir / README_FILE,
            render_model_card(meta, name=name or meta.get("name") or preset_dir.name),
        )
        os.chmod(temp_dir, 0o755)
        _move_into_place(temp_dir, preset_dir)
    except BaseException:
        shutil.rmtree(temp_dir, ignore_errors=True)
        raise
    return preset_dir


def _write_text(path, text):
    with open(path, "w", encoding="utf-8") as file:
        file.write(text)


def _move_into_place(temp_dir, preset_dir):
    if not preset_dir.exists():
        os.replace(temp_dir, preset_dir)
        return
    if not any(preset_dir.iterdir()):
        preset_dir.rmdir()
        os.replace(temp_dir, preset_dir)
        return
    # Swap: old folder aside, new one in, then delete the old one.
    old_dir = Path(
        tempfile.mkdtemp(dir=preset_dir.parent, prefix=f".{preset_dir.name}.old-")
    )
    old_dir.rmdir()
    os.replace(preset_dir, old_dir)
    try:
        os.replace(temp_dir, preset_dir)
    except BaseException:
        os.replace(old_dir, preset_dir)
        raise
    shutil.rmtree(old_dir, ignore_errors=True)


def _read_json(path, what):
    if not path.is_file():
        raise PresetError(
            f"The preset folder {str(path.parent)!r} has no {path.name} ({what})."
        )
    try:
        with open(path, encoding="utf-8") as file:
            value = json.load(file)
    except (json.JSONDecodeError, UnicodeDecodeError) as error:
        raise PresetError(f"Cannot parse {str(path)!r}: {error}") from None
    if not isinstance(value, dict):
        raise PresetError(f"{str(path)!r} must hold a JSON object.")
    return value


def load_preset_metadata(preset_dir):
    """Reads the `metadata.json` of a preset folder.

    Args:
        preset_dir: a preset folder.

    Returns:
        The metadata dict.

    Raises:
        PresetError: if the folder or its `metadata.json` is missing or invalid.
    """
    preset_dir = Path(preset_dir).expanduser()
    if not preset_dir.is_dir():
        raise PresetError(f"No preset folder at preset_dir={str(preset_dir)!r}")
    return _read_json(preset_dir / METADATA_FILE, "preset metadata")


def _resolve_class(config, preset_dir):
    registered_name = config.get("registered_name") or config.get("class_name")
    cls = None
    if isinstance(registered_name, str):
        cls = keras.saving.get_registered_object(registered_name)
    if not (isinstance(cls, type) and issubclass(cls, Denoiser)):
        raise PresetError(
            f"The preset {str(preset_dir)!r} holds {registered_name!r}, which is "
            "not a registered keras_miyasawa denoiser class."
        )
    return cls


def load_preset_dir(preset_dir, expected_class=None):
    """Loads a denoiser from a preset folder, verifying its weights.

    Args:
        preset_dir: a folder written by `save_to_preset`.
        expected_class: optional `Denoiser` subclass the preset must hold
            (e.g. `DnCNN` when called as `DnCNN.from_preset`).

    Returns:
        The model, with the preset's weights.

    Raises:
        PresetError: if a file is missing or invalid, or the preset holds
            another class than `expected_class`.
        IntegrityError: if `model.weights.h5` does not match the sha256
            recorded in `metadata.json`.
    """
    preset_dir = Path(preset_dir).expanduser()
    metadata = load_preset_metadata(preset_dir)
    config = _read_json(preset_dir / CONFIG_FILE, "model config")
    cls = _resolve_class(config, preset_dir)
    if expected_class is not None and not issubclass(cls, expected_class):
        raise PresetError(
            f"The preset {str(preset_dir)!r} holds a {cls.__name__}, not a "
            f"{expected_class.__name__}. Load it with "
            f"keras_miyasawa.from_preset(...) or {cls.__name__}.from_preset(...)."
        )
    weights_path = preset_dir / WEIGHTS_FILE
    if not weights_path.is_file():
        raise PresetError(
            f"The preset folder {str(preset_dir)!r} has no {WEIGHTS_FILE}: the "
            "preset is incomplete. Re-create or re-download it."
        )
    expected = metadata.get("weights_sha256")
    if not isinstance(expected, str):
        raise PresetError(
            f"{str(preset_dir / METADATA_FILE)!r} records no weights_sha256, so the "
            "weights cannot be verified."
        )
    actual = sha256_file(weights_path)
    if actual != expected:
        raise IntegrityError(
            f"{str(weights_path)!r} is corrupted or was modified: its sha256 is "
            f"{actual}, metadata.json records {expected}. Re-create or re-download "
            "the preset."
        )
    inner = config.get("config")
    if not isinstance(inner, dict):
        raise PresetError(f"{str(preset_dir / CONFIG_FILE)!r} has no 'config' object.")
    try:
        model = cls.from_config(inner)
        model.load_weights(weights_path)
    except (TypeError, ValueError, KeyError, OSError) as error:
        raise PresetError(
            f"Cannot load the preset {str(preset_dir)!r} into {cls.__name__}: {error}"
        ) from None
    return model
