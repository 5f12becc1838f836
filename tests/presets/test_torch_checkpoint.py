import argparse
import collections
import io
import pickle
import types

import numpy as np
import pytest

from keras_miyasawa.presets import CheckpointError
from keras_miyasawa.presets import UnsafeCheckpointError
from keras_miyasawa.presets import load_torch_checkpoint


def _state(writer):
    rng = np.random.default_rng(0)
    weight = rng.normal(size=(4, 2, 3, 3)).astype("float32")
    shared = writer.storage(np.arange(12, dtype="float32"))
    return collections.OrderedDict(
        [
            ("conv.weight", writer.tensor(weight)),
            ("bn.num_batches_tracked", writer.tensor(np.array(7, dtype="int64"))),
            ("half", writer.tensor(np.array([0.5, -2.0], dtype="float16"))),
            # Two views of one storage: an offset slice and a transposed matrix.
            ("slice", writer.view(shared, 4, (3,), (1,))),
            ("transposed", writer.view(shared, 0, (4, 3), (1, 4))),
        ]
    ), weight


def _check_state(loaded, weight):
    assert list(loaded) == [
        "conv.weight",
        "bn.num_batches_tracked",
        "half",
        "slice",
        "transposed",
    ]
    np.testing.assert_array_equal(loaded["conv.weight"], weight)
    assert loaded["conv.weight"].dtype == np.float32
    assert loaded["bn.num_batches_tracked"] == 7
    assert loaded["bn.num_batches_tracked"].dtype == np.int64
    np.testing.assert_array_equal(loaded["half"], np.array([0.5, -2.0], "float16"))
    np.testing.assert_array_equal(loaded["slice"], [4.0, 5.0, 6.0])
    np.testing.assert_array_equal(
        loaded["transposed"], np.arange(12, dtype="float32").reshape(3, 4).T
    )


@pytest.mark.parametrize("layout", ["legacy", "zip"])
def test_reads_both_torch_save_layouts(tmp_path, torch_writer, layout):
    state, weight = _state(torch_writer)
    args = argparse.Namespace(model="dncnn", min_noise=0, lr=1e-3)
    checkpoint = {"model": [state], "args": args, "step": 3}
    path = tmp_path / "model.pt"
    if layout == "legacy":
        torch_writer.write_legacy(path, checkpoint)
    else:
        torch_writer.write_zip(path, checkpoint)
    loaded = load_torch_checkpoint(path)
    assert loaded["step"] == 3
    assert vars(loaded["args"]) == {"model": "dncnn", "min_noise": 0, "lr": 1e-3}
    assert isinstance(loaded["model"][0], collections.OrderedDict)
    _check_state(loaded["model"][0], weight)
    # A file object works as well as a path.
    _check_state(
        load_torch_checkpoint(io.BytesIO(path.read_bytes()))["model"][0], weight
    )


def test_reads_a_reference_checkpoint(shared_dir):
    path = shared_dir / "reference" / "checkpoints" / "dncnn" / "bias_free" / "0-55.pt"
    checkpoint = load_torch_checkpoint(path)
    state = checkpoint["model"][0]
    assert isinstance(state, collections.OrderedDict)
    assert state["first_layer.weight"].shape == (64, 1, 3, 3)
    assert state["first_layer.weight"].dtype == np.float32
    assert state["bn_layer_list.17.running_var"].shape == (64,)
    assert state["bn_layer_list.0.num_batches_tracked"].dtype == np.int64
    # argparse.Namespace is read as plain attribute data.
    assert isinstance(checkpoint["args"], types.SimpleNamespace)
    assert checkpoint["args"].model == "dncnn"
    assert checkpoint["args"].bias is False


def _global_pickle(module, name):
    """A pickle that calls `module.name()` when loaded by `pickle.loads`."""
    return b"\x80\x02c" + f"{module}\n{name}\n".encode() + b")R."


@pytest.mark.parametrize(
    "module, name",
    [
        ("posix", "system"),
        ("os", "system"),
        ("builtins", "eval"),
        ("builtins", "exec"),
        ("builtins", "getattr"),
        ("subprocess", "Popen"),
        ("torch", "load"),
        ("torch.nn.modules.conv", "Conv2d"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("collections", "defaultdict"),
        ("argparse", "ArgumentParser"),
    ],
)
def test_refuses_every_global_outside_the_allow_list(tmp_path, module, name):
    path = tmp_path / "evil.pt"
    path.write_bytes(_global_pickle(module, name))
    with pytest.raises(UnsafeCheckpointError, match=rf"'{module}\.{name}'"):
        load_torch_checkpoint(path)


class _Evil:
    def __init__(self, marker, how):
        self.marker = marker
        self.how = how

    def __reduce__(self):
        if self.how == "eval":
            return eval, (f"open({str(self.marker)!r}, 'w').write('pwned')",)
        import os

        return os.system, (f"touch {self.marker}",)


@pytest.mark.parametrize("how", ["eval", "system"])
@pytest.mark.parametrize("where", ["plain", "legacy_header", "legacy_body", "zip"])
def test_crafted_pickle_is_refused_and_executes_nothing(
    tmp_path, torch_writer, how, where
):
    marker = tmp_path / f"marker_{how}_{where}"
    control = tmp_path / "control"
    # The payload is live: plain pickle runs it.
    pickle.loads(pickle.dumps(_Evil(control, how), protocol=2))
    assert control.exists()

    evil = _Evil(marker, how)
    path = tmp_path / "evil.pt"
    if where == "plain":
        path.write_bytes(pickle.dumps(evil, protocol=4))
    elif where == "legacy_header":
        path.write_bytes(
            torch_writer.legacy_bytes({}, header_pickles=[pickle.dumps(evil)])
        )
    elif where == "legacy_body":
        path.write_bytes(torch_writer.legacy_bytes({"model": [{"x": evil}]}))
    else:
        torch_writer.write_zip(path, {}, data_pkl=pickle.dumps({"model": evil}))
    with pytest.raises(UnsafeCheckpointError, match="Refusing to load the global"):
        load_torch_checkpoint(path)
    assert not marker.exists()


def test_refuses_allowed_callables_with_forged_arguments(tmp_path):
    # _rebuild_tensor_v2 called on a string instead of a storage.
    forged = (
        b"\x80\x02ctorch._utils\n_rebuild_tensor_v2\n"
        b"(X\x03\x00\x00\x00abcK\x00)))\x89t"
        b"R."
    )
    path = tmp_path / "forged.pt"
    path.write_bytes(forged)
    with pytest.raises(CheckpointError, match="storage"):
        load_torch_checkpoint(path)
    # A storage type is not callable.
    path.write_bytes(b"\x80\x02ctorch\nFloatStorage\n)R.")
    with pytest.raises(CheckpointError):
        load_torch_checkpoint(path)


def test_tensor_reading_past_its_storage_is_an_error(tmp_path, torch_writer):
    storage = torch_writer.storage(np.zeros(4, "float32"))
    path = torch_writer.write_legacy(
        tmp_path / "bad.pt", {"x": torch_writer.view(storage, 2, (3,), (1,))}
    )
    with pytest.raises(CheckpointError, match="past the end"):
        load_torch_checkpoint(path)


def test_pickled_module_is_refused(tmp_path, torch_writer):
    class _ModuleRef:
        pass

    class _Pickler(pickle.Pickler):
        def persistent_id(self, obj):
            return ("module", "Net", "source") if isinstance(obj, _ModuleRef) else None

    buffer = io.BytesIO()
    _Pickler(buffer, protocol=2).dump({"net": _ModuleRef()})
    path = tmp_path / "module.pt"
    path.write_bytes(torch_writer.legacy_bytes({}, body=buffer.getvalue()))
    with pytest.raises(UnsafeCheckpointError, match="nn.Module"):
        load_torch_checkpoint(path)


@pytest.mark.parametrize("fraction", [0.001, 0.002, 0.5, 0.999])
def test_truncated_reference_checkpoint_is_a_clear_error(
    shared_dir, tmp_path, fraction
):
    source = shared_dir / "reference" / "checkpoints" / "unet" / "bias_free" / "0-10.pt"
    data = source.read_bytes()
    path = tmp_path / "truncated.pt"
    path.write_bytes(data[: int(len(data) * fraction)])
    with pytest.raises(CheckpointError, match="truncated"):
        load_torch_checkpoint(path)


def test_truncated_zip_checkpoint_is_a_clear_error(tmp_path, torch_writer):
    state, _ = _state(torch_writer)
    path = torch_writer.write_zip(tmp_path / "model.pt", state)
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(CheckpointError, match="truncated|corrupted"):
        load_torch_checkpoint(path)


@pytest.mark.parametrize(
    "content", [b"", b"not a checkpoint at all", b"\x80\x02K\x07."], ids=str
)
def test_other_files_are_clear_errors(tmp_path, content):
    path = tmp_path / "other.pt"
    path.write_bytes(content)
    with pytest.raises(CheckpointError):
        load_torch_checkpoint(path)


def test_missing_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="missing.pt"):
        load_torch_checkpoint(tmp_path / "missing.pt")


@pytest.mark.parametrize(
    "target", [b"torch._utils\n_rebuild_tensor_v2\n", b"torch\nFloatStorage\n"]
)
def test_pickle_cannot_modify_the_allowed_objects(tmp_path, target):
    # GLOBAL target, EMPTY_DICT, BUILD: would set attributes on the object.
    path = tmp_path / "build.pt"
    path.write_bytes(b"\x80\x02c" + target + b"}b.")
    with pytest.raises(UnsafeCheckpointError, match="Refusing to modify"):
        load_torch_checkpoint(path)


def test_views_are_bounded(tmp_path, torch_writer):
    one = torch_writer.storage(np.ones(1, "float32"))
    path = torch_writer.write_legacy(
        tmp_path / "empty.pt", {"x": torch_writer.view(one, 0, (0, 3), (3, 1))}
    )
    assert load_torch_checkpoint(path)["x"].shape == (0, 3)
    # A stride-0 view may repeat elements, but not without bound.
    small = torch_writer.view(one, 0, (4, 2), (0, 0))
    path = torch_writer.write_legacy(tmp_path / "small.pt", {"x": small})
    np.testing.assert_array_equal(load_torch_checkpoint(path)["x"], np.ones((4, 2)))
    bomb = torch_writer.view(one, 0, (1 << 14, 1 << 14), (0, 0))
    path = torch_writer.write_legacy(tmp_path / "bomb.pt", {"x": bomb})
    with pytest.raises(CheckpointError, match="beyond the supported limit"):
        load_torch_checkpoint(path)
    huge = torch_writer.view(one, 0, (0, 1 << 62), (1, 1))
    path = torch_writer.write_legacy(tmp_path / "huge.pt", {"x": huge})
    with pytest.raises(CheckpointError, match="Invalid empty tensor"):
        load_torch_checkpoint(path)
