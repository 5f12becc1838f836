"""Pretrained presets and the safe PyTorch checkpoint importer."""

from keras_miyasawa.presets.cache import IntegrityError
from keras_miyasawa.presets.cache import get_cache_dir
from keras_miyasawa.presets.cache import get_checkpoint_dir
from keras_miyasawa.presets.cache import get_preset_cache_dir
from keras_miyasawa.presets.preset_io import PresetError
from keras_miyasawa.presets.preset_io import load_preset_metadata
from keras_miyasawa.presets.preset_io import save_to_preset
from keras_miyasawa.presets.registry import DEFAULT_PRESET
from keras_miyasawa.presets.registry import convert_reference_preset
from keras_miyasawa.presets.registry import from_preset
from keras_miyasawa.presets.registry import get_models_dir
from keras_miyasawa.presets.registry import get_preset_info
from keras_miyasawa.presets.registry import list_presets
from keras_miyasawa.presets.torch_checkpoint import CheckpointError
from keras_miyasawa.presets.torch_checkpoint import UnsafeCheckpointError
from keras_miyasawa.presets.torch_checkpoint import load_torch_checkpoint
from keras_miyasawa.presets.torch_import import convert_torch_checkpoint
from keras_miyasawa.presets.torch_import import import_torch_checkpoint

__all__ = [
    "DEFAULT_PRESET",
    "CheckpointError",
    "IntegrityError",
    "PresetError",
    "UnsafeCheckpointError",
    "convert_reference_preset",
    "convert_torch_checkpoint",
    "from_preset",
    "get_cache_dir",
    "get_checkpoint_dir",
    "get_models_dir",
    "get_preset_cache_dir",
    "get_preset_info",
    "import_torch_checkpoint",
    "list_presets",
    "load_preset_metadata",
    "load_torch_checkpoint",
    "save_to_preset",
]
