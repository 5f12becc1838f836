"""Named presets: the project's own (`models/`) and the reference checkpoints.

Nothing here runs at import: the tables are data and the `models/` folder is
scanned when a preset is listed or loaded.
"""

import difflib
import io
import os
import site
import sys
from pathlib import Path

from keras_miyasawa.models import DnCNN
from keras_miyasawa.models import UNet
from keras_miyasawa.presets import cache
from keras_miyasawa.presets import preset_io
from keras_miyasawa.presets import reference_presets
from keras_miyasawa.presets.torch_checkpoint import load_torch_checkpoint
from keras_miyasawa.presets.torch_import import import_torch_state

MODELS_DIR_ENV = "KERAS_MIYASAWA_MODELS_DIR"
_CLASSES = {"dncnn": DnCNN, "unet": UNet}


# The project's own bundled preset (models/), used by the demo and the CLI.
DEFAULT_PRESET = "bf_unet_gray_0-55"


# Where an installed package keeps models/ (setup.cfg's [options.data_files]),
# relative to the installation prefix.
INSTALLED_MODELS_SUBDIR = Path("share", "keras-miyasawa", "models")


def get_installed_models_dir(prefixes=None):
    """The `models/` folder of an installed (non-editable) keras-miyasawa.

    Args:
        prefixes: optional installation prefixes to search. Defaults to
            `sys.prefix` (a virtual environment or the system) and the user
            base of `pip install --user`.

    Returns:
        The first `<prefix>/share/keras-miyasawa/models` folder that exists,
        or `None`.
    """
    if prefixes is None:
        prefixes = (sys.prefix, site.getuserbase())
    for prefix in prefixes:
        folder = Path(prefix) / INSTALLED_MODELS_SUBDIR
        if folder.is_dir():
            return folder
    return None


def _source_checkout_root():
    root = Path(__file__).resolve().parents[2]
    # Only a source checkout (setup.cfg beside the package) has models/.
    return root if (root / "setup.cfg").is_file() else None


def get_models_dir():
    """The folder of the project's own presets.

    Returns:
        `$KERAS_MIYASAWA_MODELS_DIR`, or the top-level `models/` folder of a
        source checkout of keras-miyasawa (an editable install included), or
        the `share/keras-miyasawa/models` folder an installed package brings
        (`get_installed_models_dir()`), or `None` without any of them.
    """
    value = os.environ.get(MODELS_DIR_ENV)
    if value:
        return Path(value).expanduser()
    root = _source_checkout_root()
    if root is not None:
        return root / "models"
    return get_installed_models_dir()


def _project_presets():
    folder = get_models_dir()
    if folder is None or not folder.is_dir():
        return {}
    return {
        entry.name: entry
        for entry in sorted(folder.iterdir())
        if entry.is_dir()
        and (entry / preset_io.METADATA_FILE).is_file()
        and (entry / preset_io.CONFIG_FILE).is_file()
    }


def list_presets(architecture=None):
    """Names of the available presets, project presets first.

    Args:
        architecture: optional filter, `"dncnn"` or `"unet"`.

    Returns:
        A list of preset names accepted by `from_preset`.

    Example:

    >>> import keras_miyasawa as km
    >>> "mohan2020_dncnn_bias_free_0-55" in km.list_presets()
    True
    """
    if architecture is not None and architecture not in _CLASSES:
        raise ValueError(
            f"architecture must be one of {tuple(_CLASSES)} or None. Received: "
            f"architecture={architecture!r}"
        )
    names = []
    for name in _project_presets():
        if (
            architecture is None
            or get_preset_info(name)["architecture"] == architecture
        ):
            names.append(name)
    for name, entry in reference_presets.MOHAN2020_PRESETS.items():
        if name in names:
            continue
        if architecture is None or entry["architecture"] == architecture:
            names.append(name)
    return names


def _reference_metadata(name):
    entry = reference_presets.MOHAN2020_PRESETS[name]
    low, high = entry["training_noise_range_255"]
    psnr = entry.get("set12_psnr")
    arch_label = {"dncnn": "DnCNN", "unet": "UNet"}[entry["architecture"]]
    return {
        "name": name,
        "description": reference_presets.DESCRIPTION.format(
            bias="Bias-free" if entry["bias_free"] else "Biased",
            arch=arch_label,
            low=low,
            high=high,
        ),
        "training_data": reference_presets.TRAINING_DATA,
        "training_noise_range": [low / 255.0, high / 255.0],
        "training_noise_range_255": [low, high],
        "epochs": entry["epochs"],
        "set12_psnr": {str(k): v for k, v in psnr.items()} if psnr else None,
        "license": reference_presets.LICENSE,
        "citation": reference_presets.CITATION,
        "source": {"url": entry["url"], "sha256": entry["sha256"]},
    }


def get_preset_info(name):
    """What is known about a named preset, without loading or downloading it.

    Args:
        name: a name from `list_presets()`.

    Returns:
        A dict with at least `name`, `kind` (`"project"` or `"reference"`),
        `architecture`, `bias_free`, `channels`, `training_noise_range`
        (in [0, 1] units), `parameter_count`, `set12_psnr` (or `None`) and
        `path` (the preset folder, `None` while a reference preset is not
        converted yet).

    Raises:
        PresetError: if `name` is not a known preset.
    """
    project = _project_presets()
    if name in project:
        info = preset_io.load_preset_metadata(project[name])
        info.setdefault("name", name)
        info.update(kind="project", path=str(project[name]))
        return info
    if name in reference_presets.MOHAN2020_PRESETS:
        entry = reference_presets.MOHAN2020_PRESETS[name]
        cached = cache.get_preset_cache_dir() / name
        info = _reference_metadata(name)
        info.update(
            kind="reference",
            architecture=entry["architecture"],
            bias_free=entry["bias_free"],
            channels=1,
            parameter_count=entry["parameter_count"],
            checkpoint_file=entry["file"],
            path=str(cached) if (cached / preset_io.METADATA_FILE).is_file() else None,
        )
        return info
    raise _unknown_preset(name)


def _unknown_preset(name):
    names = list_presets()
    close = difflib.get_close_matches(str(name), names, n=3)
    hint = f" Did you mean {', '.join(close)}?" if close else ""
    return preset_io.PresetError(
        f"Unknown preset and no preset folder at preset={str(name)!r}.{hint} "
        "Known presets: keras_miyasawa.list_presets() or `keras-miyasawa presets "
        "list`."
    )


def convert_reference_preset(name, opener=None):
    """Makes sure a reference preset is converted and cached; returns its folder.

    Looks for the original checkpoint in `get_checkpoint_dir()` and downloads
    it on a miss; verifies its sha256, converts it with the safe importer and
    caches the preset under `get_preset_cache_dir()`. A checkpoint with the
    wrong sha256 is refused and nothing is cached.

    Args:
        name: a reference preset name, e.g. `"mohan2020_dncnn_bias_free_0-55"`.
        opener: optional URL opener for the download (see
            `cache.download_file`).

    Returns:
        The preset folder as a `pathlib.Path`.

    Raises:
        PresetError: if `name` is not a reference preset.
        IntegrityError: if the checkpoint's sha256 is not the published one.
        OSError: if the checkpoint is missing and cannot be downloaded.
    """
    entry = reference_presets.MOHAN2020_PRESETS.get(name)
    if entry is None:
        raise _unknown_preset(name)
    target = cache.get_preset_cache_dir() / name
    if (target / preset_io.METADATA_FILE).is_file():
        return target
    checkpoint = cache.get_checkpoint_dir() / entry["file"]
    if not checkpoint.is_file():
        cache.download_file(entry["url"], checkpoint, entry["sha256"], opener=opener)
    data = checkpoint.read_bytes()
    cache.verify_sha256(data, entry["sha256"], f"the checkpoint {str(checkpoint)!r}")
    model, _ = import_torch_state(
        load_torch_checkpoint(io.BytesIO(data)),
        architecture=entry["architecture"],
        bias_free=entry["bias_free"],
    )
    try:
        preset_io.save_to_preset(model, target, metadata=_reference_metadata(name))
    except FileExistsError:
        # Another process converted it meanwhile.
        if not (target / preset_io.METADATA_FILE).is_file():
            raise
    return target


def from_preset(preset, expected_class=None):
    """Loads a denoiser from a preset name or a preset folder.

    A path to an existing folder is loaded as is. A name is looked up among
    the project's presets (`models/`) and the reference checkpoints of Mohan
    et al. (2020); a reference preset is downloaded, verified and converted
    on first use and cached (see `keras_miyasawa.presets.cache`).

    Args:
        preset: a name from `list_presets()` or a preset folder.
        expected_class: optional `Denoiser` subclass the preset must hold.

    Returns:
        The denoiser (`DnCNN`, `UNet`, ...) with its weights.

    Raises:
        PresetError: unknown name, incomplete folder, or wrong class.
        IntegrityError: weights or checkpoint with the wrong sha256.

    Example:

    >>> import keras_miyasawa as km
    >>> denoiser = km.from_preset("mohan2020_dncnn_bias_free_0-55")  # doctest: +SKIP
    >>> denoiser.is_bias_free  # doctest: +SKIP
    True
    """
    if not isinstance(preset, (str, os.PathLike)):
        raise TypeError(
            "preset must be a preset name or folder. Received: "
            f"preset of type {type(preset).__name__}"
        )
    path = Path(preset).expanduser()
    if path.is_dir():
        return preset_io.load_preset_dir(path, expected_class)
    name = os.fspath(preset)
    project = _project_presets()
    if name in project:
        return preset_io.load_preset_dir(project[name], expected_class)
    entry = reference_presets.MOHAN2020_PRESETS.get(name)
    if entry is None:
        raise _unknown_preset(name)
    cls = _CLASSES[entry["architecture"]]
    if expected_class is not None and not issubclass(cls, expected_class):
        raise preset_io.PresetError(
            f"The preset {name!r} holds a {cls.__name__}, not a "
            f"{expected_class.__name__}. Load it with keras_miyasawa.from_preset(...) "
            f"or {cls.__name__}.from_preset(...)."
        )
    return preset_io.load_preset_dir(convert_reference_preset(name), expected_class)
