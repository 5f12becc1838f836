import collections
import importlib.util
import io
from pathlib import Path

import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa.presets import CheckpointError
from keras_miyasawa.presets import import_torch_checkpoint
from keras_miyasawa.presets import load_torch_checkpoint
from keras_miyasawa.presets.torch_import import import_torch_state

ROOT = Path(__file__).resolve().parents[2]
CHECKPOINT_NAMES = [
    f"{arch}/{bias}/{noise}"
    for arch in ("dncnn", "unet")
    for bias in ("bias", "bias_free")
    for noise in ("0-10", "0-30", "0-55", "0-100")
]


@pytest.fixture(scope="module")
def imported(shared_dir):
    """Imports each reference checkpoint once per module."""
    cache = {}

    def get(name):
        if name not in cache:
            path = shared_dir / "reference" / "checkpoints" / f"{name}.pt"
            cache[name] = import_torch_checkpoint(path)
        return cache[name]

    return get


@pytest.mark.parametrize("name", CHECKPOINT_NAMES)
def test_parity_with_pytorch_outputs(shared_dir, imported, name):
    model = imported(name)
    arch, bias, _ = name.split("/")
    assert isinstance(model, km.models.DnCNN if arch == "dncnn" else km.models.UNet)
    assert model.is_bias_free == (bias == "bias_free")
    fixture = np.load(
        shared_dir / "reference" / "parity" / f"{name.replace('/', '_')}.npz"
    )
    for crop in ("even", "odd"):
        y = fixture[f"{crop}_input"]
        x_hat = np.asarray(model(y, training=False))
        assert x_hat.shape == fixture[f"{crop}_output"].shape
        error = np.max(np.abs(x_hat - fixture[f"{crop}_output"]))
        assert error <= 1e-4, f"{name} {crop}: max abs error {error}"


def _homogeneity_error(model, y):
    f_y = np.asarray(model(y, training=False), "float64")
    errors = []
    for a in (0.1, 2.0, 10.0):
        f_ay = np.asarray(model(np.float32(a) * y, training=False), "float64")
        errors.append(np.max(np.abs(f_ay - a * f_y)) / np.max(np.abs(a * f_y)))
    return max(errors)


@pytest.mark.parametrize("name", CHECKPOINT_NAMES)
def test_bias_free_models_are_homogeneous_and_biased_ones_are_not(
    shared_dir, imported, name
):
    fixture = np.load(
        shared_dir / "reference" / "parity" / f"{name.replace('/', '_')}.npz"
    )
    error = _homogeneity_error(imported(name), fixture["odd_input"][:, :40, :40])
    if "/bias_free/" in name:
        assert error <= 1e-5
    else:
        assert error > 1e-3


def _reference_state(shared_dir, name):
    path = shared_dir / "reference" / "checkpoints" / f"{name}.pt"
    return load_torch_checkpoint(path)["model"][0]


def test_state_dict_entries_must_fit(shared_dir):
    state = _reference_state(shared_dir, "unet/bias_free/0-10")
    extra = collections.OrderedDict(state, **{"conv10.weight": np.zeros((1, 1))})
    with pytest.raises(CheckpointError, match="conv10.weight"):
        import_torch_state(extra)
    missing = collections.OrderedDict(state)
    del missing["conv4.weight"]
    with pytest.raises(CheckpointError, match="conv4"):
        import_torch_state(missing)
    wrong = collections.OrderedDict(state)
    wrong["conv2.weight"] = np.zeros((32, 32, 5, 5), "float32")
    with pytest.raises(CheckpointError, match=r"conv2\.weight"):
        import_torch_state(wrong)
    with pytest.raises(CheckpointError, match="architecture"):
        import_torch_state({"fc.weight": np.zeros((2, 2))})


def test_arguments_contradicting_the_checkpoint_are_errors(shared_dir):
    state = _reference_state(shared_dir, "unet/bias_free/0-10")
    with pytest.raises(ValueError, match="architecture='dncnn'"):
        import_torch_state(state, architecture="dncnn")
    with pytest.raises(ValueError, match="bias_free=False"):
        import_torch_state(state, bias_free=False)
    with pytest.raises(ValueError, match="architecture='vgg'"):
        import_torch_state(state, architecture="vgg")


def test_bare_state_dict_with_dataparallel_prefix(shared_dir, torch_writer, tmp_path):
    # A checkpoint saved as `torch.save(model.state_dict())` of a DataParallel
    # model in the zip layout imports like the reference file.
    state = _reference_state(shared_dir, "unet/bias/0-10")
    tensors = collections.OrderedDict(
        (f"module.{k}", torch_writer.tensor(v)) for k, v in state.items()
    )
    path = torch_writer.write_zip(tmp_path / "state_dict.pth", tensors)
    model = import_torch_checkpoint(path, architecture="unet", bias_free=False)
    reference = import_torch_checkpoint(
        shared_dir / "reference" / "checkpoints" / "unet" / "bias" / "0-10.pt"
    )
    for a, b in zip(model.weights, reference.weights):
        np.testing.assert_array_equal(np.asarray(a), np.asarray(b))


def _load_benchmark():
    spec = importlib.util.spec_from_file_location(
        "reference_psnr", ROOT / "benchmarks" / "reference_psnr.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_set12_psnr_of_bf_dncnn_0_55_matches_the_reference(shared_dir, imported):
    set12 = shared_dir / "data" / "set12"
    if not set12.is_dir():
        pytest.skip("../shared/data/set12 is absent")
    benchmark = _load_benchmark()
    images = benchmark.load_set12(set12)
    assert len(images) == 12
    table = benchmark.psnr_table(
        imported("dncnn/bias_free/0-55"), images, (15, 25, 50), seed=0
    )
    # ../shared/README.md, measured with the reference PyTorch code.
    reference = {15: 32.66, 25: 30.35, 50: 27.18}
    for sigma, value in reference.items():
        assert abs(table[sigma] - value) <= 0.02, (sigma, table[sigma], value)


def test_import_reads_from_bytes_not_a_reopened_path(shared_dir, tmp_path):
    # import_torch_checkpoint reads the file once; the loader accepts file objects.
    path = shared_dir / "reference" / "checkpoints" / "unet" / "bias_free" / "0-10.pt"
    checkpoint = load_torch_checkpoint(io.BytesIO(path.read_bytes()))
    model, args = import_torch_state(checkpoint)
    assert args["max_noise"] == 10.0
    assert isinstance(model, km.models.UNet) and not model.residual
