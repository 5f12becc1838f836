"""Map PyTorch state dicts of DnCNN / UNet (Mohan et al. 2020) onto our models.

The reference conventions (see `../shared/README.md` of the project):
- kernels are NCHW `(out, in, kh, kw)` (transposed conv: `(in, out, kh, kw)`),
  Keras wants `(kh, kw, in, out)` (transposed conv: `(kh, kw, out, in)`);
- the reference DnCNN predicts the noise and returns `y - last_layer(...)`;
  our `DnCNN(residual=True)` returns `y + r(y)`, so the last conv is negated;
- the reference bias-free batch norm divides by `sqrt(running_var) + eps`
  (eps on the standard deviation); `BiasFreeBatchNorm` divides by
  `sqrt(moving_variance + eps)`, so `gamma` absorbs the difference exactly;
- the reference UNet has no residual connection and its last conv never has a
  bias; the input is zero-padded at the bottom/right to an even size and the
  output cropped back, which is what `UNet(levels=1)` does.
"""

import collections
import io
import os
import types
from pathlib import Path

import numpy as np

from keras_miyasawa.models import DnCNN
from keras_miyasawa.models import UNet
from keras_miyasawa.models._blocks import BN_EPSILON
from keras_miyasawa.presets.torch_checkpoint import CheckpointError
from keras_miyasawa.presets.torch_checkpoint import load_torch_checkpoint

# The reference BFBatchNorm2d adds its eps to the standard deviation.
REFERENCE_BN_EPSILON = 1e-5
ARCHITECTURES = ("dncnn", "unet")
_UNET_LAYERS = (
    ("conv1", "enc_0_conv_a"),
    ("conv2", "enc_0_conv_b"),
    ("conv3", "down_1"),
    ("conv4", "enc_1_conv"),
    ("conv5", "bottleneck_dilated_2"),
    ("conv6", "bottleneck_dilated_4"),
    ("conv7", "up_1"),
    ("conv8", "dec_0_conv"),
    ("conv9", "output_conv"),
)


def _find_state_dict(checkpoint):
    """Returns `(state_dict, args)` from the usual checkpoint layouts."""
    args = None
    if isinstance(checkpoint, dict):
        args = checkpoint.get("args")
        for key in ("model", "state_dict", "model_state_dict"):
            if key in checkpoint:
                candidate = checkpoint[key]
                if isinstance(candidate, (list, tuple)) and len(candidate) == 1:
                    candidate = candidate[0]
                if isinstance(candidate, dict):
                    checkpoint = candidate
                    break
    if not isinstance(checkpoint, dict) or not checkpoint:
        raise CheckpointError(
            "The checkpoint holds no state dict (expected a dict of tensors, or a "
            "dict with a 'model' or 'state_dict' entry). Received: "
            f"{type(checkpoint).__name__}"
        )
    state = collections.OrderedDict()
    for key, value in checkpoint.items():
        if not isinstance(key, str):
            raise CheckpointError(f"State dict keys must be strings. Received: {key!r}")
        # nn.DataParallel prefixes every name with "module.".
        name = key[len("module.") :] if key.startswith("module.") else key
        if isinstance(value, np.ndarray):
            state[name] = value
    if isinstance(args, types.SimpleNamespace):
        args = dict(vars(args))
    elif not isinstance(args, dict):
        args = {}
    return state, args


def _infer_architecture(state):
    if "first_layer.weight" in state:
        return "dncnn"
    if "conv1.weight" in state and "conv9.weight" in state:
        return "unet"
    raise CheckpointError(
        "Cannot tell the architecture of the state dict: expected DnCNN keys "
        "('first_layer.weight', ...) or UNet keys ('conv1.weight' ... "
        f"'conv9.weight'). Received keys: {sorted(state)[:8]}"
    )


class _StateReader:
    """Hands out state-dict entries with shape checks and tracks unused ones."""

    def __init__(self, state):
        self.state = state
        self.used = set()

    def get(self, key, shape=None):
        if key not in self.state:
            raise CheckpointError(f"The state dict has no entry {key!r}.")
        value = self.state[key]
        if shape is not None and tuple(value.shape) != tuple(shape):
            raise CheckpointError(
                f"State dict entry {key!r} has shape {tuple(value.shape)}, expected "
                f"{tuple(shape)}."
            )
        self.used.add(key)
        return value.astype("float64")

    def ignore(self, *keys):
        self.used.update(k for k in keys if k in self.state)

    def check_all_used(self):
        unused = sorted(set(self.state) - self.used)
        if unused:
            raise CheckpointError(
                "The state dict has entries the model has no place for: "
                f"{unused[:10]}{' ...' if len(unused) > 10 else ''}"
            )


def _conv_kernel(weight):
    # (out, in, kh, kw) -> (kh, kw, in, out)
    return weight.transpose(2, 3, 1, 0)


def _transpose_kernel(weight):
    # (in, out, kh, kw) -> (kh, kw, out, in)
    return weight.transpose(2, 3, 1, 0)


def _assign(variable, value):
    value = np.asarray(value, dtype="float32")
    if tuple(variable.shape) != value.shape:
        raise CheckpointError(
            f"Cannot assign shape {value.shape} to {variable.path} of shape "
            f"{tuple(variable.shape)}."
        )
    variable.assign(value)


def _set_conv(layer, reader, prefix, bias, sign=1.0, transpose=False, bias_key=True):
    weight = reader.get(f"{prefix}.weight")
    kernel = _transpose_kernel(weight) if transpose else _conv_kernel(weight)
    _assign(layer.kernel, sign * kernel)
    if bias:
        if bias_key:
            _assign(layer.bias, sign * reader.get(f"{prefix}.bias", (weight.shape[0],)))
        else:
            _assign(layer.bias, np.zeros(layer.bias.shape))


def _build_dncnn(reader, bias):
    state = reader.state
    first = state["first_layer.weight"]
    if first.ndim != 4 or first.shape[2] != first.shape[3]:
        raise CheckpointError(
            f"'first_layer.weight' must be a square conv kernel. Received shape "
            f"{first.shape}"
        )
    filters, channels, kernel_size, _ = first.shape
    hidden = 0
    while f"hidden_layer_list.{hidden}.weight" in state:
        hidden += 1
    batch_norm = "bn_layer_list.0.weight" in state
    model = DnCNN(
        channels=int(channels),
        depth=hidden + 2,
        filters=int(filters),
        kernel_size=int(kernel_size),
        batch_norm=batch_norm,
        bias_free=not bias,
        residual=True,
    )
    _set_conv(model.get_layer("input_conv"), reader, "first_layer", bias)
    for i in range(hidden):
        _set_conv(
            model.get_layer(f"hidden_conv_{i + 1}"),
            reader,
            f"hidden_layer_list.{i}",
            bias,
        )
        if not batch_norm:
            continue
        bn = model.get_layer(f"hidden_bn_{i + 1}")
        prefix = f"bn_layer_list.{i}"
        weight = reader.get(f"{prefix}.weight", (filters,))
        variance = reader.get(f"{prefix}.running_var", (filters,))
        reader.ignore(f"{prefix}.num_batches_tracked")
        if bias:
            _assign(bn.gamma, weight)
            _assign(bn.beta, reader.get(f"{prefix}.bias", (filters,)))
            _assign(bn.moving_mean, reader.get(f"{prefix}.running_mean", (filters,)))
            _assign(bn.moving_variance, variance)
        else:
            # The reference BF batch norm never reads its bias or running mean.
            reader.ignore(f"{prefix}.bias", f"{prefix}.running_mean")
            # Reference: x * w / (sqrt(v) + eps_ref); ours: x * g / sqrt(v + eps).
            gamma = (
                weight
                * np.sqrt(variance + BN_EPSILON)
                / (np.sqrt(variance) + REFERENCE_BN_EPSILON)
            )
            _assign(bn.gamma, gamma)
            _assign(bn.moving_variance, variance)
    # The reference returns y - last_layer(...); ours returns y + r(y).
    _set_conv(model.get_layer("output_conv"), reader, "last_layer", bias, sign=-1.0)
    return model


def _build_unet(reader, bias):
    state = reader.state
    first = state["conv1.weight"]
    if first.ndim != 4:
        raise CheckpointError(
            f"'conv1.weight' must be a conv kernel. Received shape {first.shape}"
        )
    filters, channels = int(first.shape[0]), int(first.shape[1])
    model = UNet(
        channels=channels,
        filters=filters,
        levels=1,
        batch_norm=False,
        bias_free=not bias,
        residual=False,
    )
    for torch_name, keras_name in _UNET_LAYERS:
        layer = model.get_layer(keras_name)
        expected = tuple(layer.kernel.shape)
        weight = state.get(f"{torch_name}.weight")
        if weight is None or weight.ndim != 4:
            raise CheckpointError(f"The state dict has no 4-D entry '{torch_name}'.")
        # Torch kernels hold (kh, kw) last; compare in Keras layout.
        if tuple(weight.transpose(2, 3, 1, 0).shape) != expected:
            raise CheckpointError(
                f"State dict entry '{torch_name}.weight' has shape {weight.shape}, "
                f"which does not fit the UNet layer {keras_name!r} of kernel shape "
                f"{expected}."
            )
        # The reference UNet's last conv has no bias even in the biased variant.
        _set_conv(
            layer,
            reader,
            torch_name,
            bias,
            transpose=torch_name == "conv7",
            bias_key=f"{torch_name}.bias" in state or torch_name != "conv9",
        )
    return model


def _read_checkpoint_bytes(path):
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint file at path={path!r}")
    with open(path, "rb") as file:
        return file.read()


def import_torch_state(checkpoint, architecture=None, bias_free=None):
    """Builds a Keras denoiser from an already loaded PyTorch checkpoint.

    Args:
        checkpoint: the object returned by `load_torch_checkpoint`: a state
            dict of NumPy arrays, or a dict holding one under `"model"` (a
            one-element list is unwrapped) or `"state_dict"`.
        architecture: `"dncnn"`, `"unet"` or `None` to infer it from the keys.
        bias_free: `True`, `False` or `None` to infer it (no `.bias` entries).

    Returns:
        A tuple `(model, args)`: the `DnCNN` or `UNet` with the weights loaded
        and the checkpoint's training arguments as a dict (empty if none).

    Raises:
        CheckpointError: if the state dict does not fit the architecture.
        ValueError: if `architecture` or `bias_free` contradicts the state dict.
    """
    state, args = _find_state_dict(checkpoint)
    inferred = _infer_architecture(state)
    if architecture is not None:
        if architecture not in ARCHITECTURES:
            raise ValueError(
                f"architecture must be one of {ARCHITECTURES} or None. Received: "
                f"architecture={architecture!r}"
            )
        if architecture != inferred:
            raise ValueError(
                f"The checkpoint holds a {inferred} state dict. Received: "
                f"architecture={architecture!r}"
            )
    first_key = "first_layer" if inferred == "dncnn" else "conv1"
    has_bias = f"{first_key}.bias" in state
    if bias_free is not None and bool(bias_free) == has_bias:
        raise ValueError(
            f"The checkpoint is {'biased' if has_bias else 'bias-free'}. Received: "
            f"bias_free={bias_free!r}"
        )
    reader = _StateReader(state)
    build = _build_dncnn if inferred == "dncnn" else _build_unet
    model = build(reader, has_bias)
    reader.check_all_used()
    return model, args


def import_torch_checkpoint(path, architecture=None, bias_free=None):
    """Imports a PyTorch DnCNN / UNet checkpoint as a Keras denoiser.

    The file is read by `load_torch_checkpoint` (no PyTorch needed; any
    pickled global outside tensors and plain containers is refused). The
    model maps `y` to `x_hat` like every denoiser here: noise-predicting
    checkpoints are converted (the reference DnCNN becomes a `DnCNN` with
    `residual=True` and a negated last conv), kernels are transposed from
    NCHW and the reference bias-free batch norm is folded exactly into
    `BiasFreeBatchNorm`.

    Args:
        path: a `torch.save` file (legacy or zip format) holding a state dict
            of the Mohan et al. (2020) DnCNN or UNet, directly or under a
            `"model"` / `"state_dict"` key.
        architecture: `"dncnn"`, `"unet"` or `None` (inferred from the keys).
        bias_free: `True`, `False` or `None` (inferred from the keys).

    Returns:
        A `keras_miyasawa.models.DnCNN` or `keras_miyasawa.models.UNet`.

    Raises:
        FileNotFoundError: if `path` does not exist.
        UnsafeCheckpointError: if the file would need code to be executed.
        CheckpointError: if it is truncated, corrupted or does not fit.
        ValueError: if `architecture` or `bias_free` contradicts the file.

    Example:

    >>> import keras_miyasawa as km
    >>> model = km.presets.import_torch_checkpoint(
    ...     "bias_free_denoising/pretrained/dncnn/bias_free/0-55.pt"
    ... )  # doctest: +SKIP
    >>> model.name  # doctest: +SKIP
    'bf_dncnn'

    Reference:
        Mohan, Kadkhodaie, Simoncelli, Fernandez-Granda. "Robust and
        interpretable blind image denoising via bias-free convolutional
        neural networks." ICLR 2020.
    """
    data = _read_checkpoint_bytes(path)
    checkpoint = load_torch_checkpoint(io.BytesIO(data))
    model, _ = import_torch_state(checkpoint, architecture, bias_free)
    return model


def training_noise_range_255(args):
    """The training noise range `(low, high)` in 0-255 units from checkpoint args.

    Some reference files store the range as `min_noise=55, max_noise=0`, so
    the two ends are sorted. Returns `None` when the args do not say.
    """
    low, high = args.get("min_noise"), args.get("max_noise")
    if not all(isinstance(v, (int, float)) for v in (low, high)):
        return None
    return sorted((float(low), float(high)))


def convert_torch_checkpoint(
    path, preset_dir, architecture=None, bias_free=None, overwrite=False, sha256=None
):
    """Imports a PyTorch checkpoint and saves it as a preset folder.

    The metadata records the source file and its sha256 and, when the
    checkpoint carries its training arguments (`args`), the training noise
    range, data set and number of epochs.

    Args:
        path: a `torch.save` file (see `import_torch_checkpoint`).
        preset_dir: the preset folder to write.
        architecture: `"dncnn"`, `"unet"` or `None` (inferred).
        bias_free: `True`, `False` or `None` (inferred).
        overwrite: replace an existing preset folder. Defaults to `False`.
        sha256: optional expected hex sha256 of the checkpoint file.

    Returns:
        `preset_dir` as a `pathlib.Path`.

    Raises:
        IntegrityError: if `sha256` is given and does not match.
        FileExistsError: if `preset_dir` exists and `overwrite` is `False`.
        CheckpointError: see `import_torch_checkpoint`.

    Example:

    >>> import keras_miyasawa as km
    >>> km.presets.convert_torch_checkpoint(
    ...     "0-55.pt", "bf_dncnn_0-55"
    ... )  # doctest: +SKIP
    >>> km.from_preset("bf_dncnn_0-55").depth  # doctest: +SKIP
    20
    """
    from keras_miyasawa.presets import cache
    from keras_miyasawa.presets import preset_io

    preset_path = Path(preset_dir).expanduser()
    if preset_path.exists() and not overwrite:
        if not preset_path.is_dir() or any(preset_path.iterdir()):
            raise FileExistsError(
                "preset_dir already exists. Received: "
                f"preset_dir={str(preset_path)!r}. Pass overwrite=True to replace it."
            )
    data = _read_checkpoint_bytes(path)
    digest = cache.sha256_bytes(data)
    if sha256 is not None:
        cache.verify_sha256(data, sha256, f"the checkpoint {os.fspath(path)!r}")
    model, args = import_torch_state(
        load_torch_checkpoint(io.BytesIO(data)), architecture, bias_free
    )
    metadata = {
        "description": (
            f"Imported from the PyTorch checkpoint {os.path.basename(path)!r} by "
            "keras_miyasawa.presets.import_torch_checkpoint."
        ),
        "source": {"file": os.path.basename(path), "sha256": digest},
    }
    noise_range = training_noise_range_255(args)
    if noise_range is not None:
        metadata["training_noise_range"] = [v / 255.0 for v in noise_range]
        metadata["training_noise_range_255"] = noise_range
    if isinstance(args.get("dataset"), str):
        metadata["training_data"] = args["dataset"]
    if isinstance(args.get("num_epochs"), int):
        metadata["epochs"] = args["num_epochs"]
    return preset_io.save_to_preset(
        model, preset_path, metadata=metadata, overwrite=overwrite
    )
