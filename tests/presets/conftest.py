"""Fixtures for the preset tests: shared reference data and torch-format writers.

The writers produce `torch.save` files (legacy and zip layouts) without
PyTorch, so the reader can be tested on layouts the reference files do not
cover (zip, shared and strided storages, other dtypes) and on crafted files.
"""

import collections
import io
import pickle
import struct
import sys
import types
import zipfile
from pathlib import Path
from unittest import mock

import numpy as np
import pytest

SHARED = Path(__file__).resolve().parents[2] / ".." / "shared"
CHECKPOINTS = SHARED / "reference" / "checkpoints"
PARITY = SHARED / "reference" / "parity"
SET12 = SHARED / "data" / "set12"


@pytest.fixture(scope="session")
def shared_dir():
    """`../shared` of the repository; skips the test when it is absent."""
    if not CHECKPOINTS.is_dir() or not PARITY.is_dir():
        pytest.skip("../shared/reference (reference checkpoints, parity) is absent")
    return SHARED


@pytest.fixture
def preset_env(monkeypatch, tmp_path):
    """Points every preset location at test folders; returns them."""
    home = tmp_path / "home"
    models = tmp_path / "models"
    monkeypatch.setenv("KERAS_MIYASAWA_HOME", str(home))
    monkeypatch.setenv("KERAS_MIYASAWA_CHECKPOINT_DIR", str(CHECKPOINTS))
    monkeypatch.setenv("KERAS_MIYASAWA_MODELS_DIR", str(models))
    return types.SimpleNamespace(home=home, models=models, checkpoints=CHECKPOINTS)


# --- torch.save writers -----------------------------------------------------

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C
_STORAGE_NAMES = {
    "float32": "FloatStorage",
    "float64": "DoubleStorage",
    "float16": "HalfStorage",
    "int64": "LongStorage",
    "uint8": "ByteStorage",
    "bool": "BoolStorage",
}


class FakeStorage:
    def __init__(self, array, key, storage_name=None):
        self.array = np.ascontiguousarray(array).ravel()
        self.key = key
        self.storage_name = storage_name or _STORAGE_NAMES[str(self.array.dtype)]


class FakeTensor:
    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = tuple(size)
        self.stride = tuple(stride)


def _fake_torch_modules():
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):
        raise AssertionError("never called while writing")

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in set(_STORAGE_NAMES.values()) | {"BFloat16Storage"}:
        setattr(torch, name, type(name, (), {"__module__": "torch"}))
    return {"torch": torch, "torch._utils": utils}


class _TorchPickler(pickle.Pickler):
    def __init__(self, file, modules, legacy):
        super().__init__(file, protocol=2)
        self.modules = modules
        self.legacy = legacy
        self.storages = {}

    def persistent_id(self, obj):
        if not isinstance(obj, FakeStorage):
            return None
        self.storages[obj.key] = obj
        storage_type = getattr(self.modules["torch"], obj.storage_name)
        pid = ("storage", storage_type, obj.key, "cpu", obj.array.size)
        return pid + (None,) if self.legacy else pid

    def reducer_override(self, obj):
        if isinstance(obj, FakeTensor):
            rebuild = self.modules["torch._utils"]._rebuild_tensor_v2
            args = (obj.storage, obj.offset, obj.size, obj.stride, False)
            return rebuild, args + (collections.OrderedDict(),)
        return NotImplemented


class TorchWriter:
    """Builds tensors and writes them like `torch.save` would."""

    def __init__(self):
        self._count = 0

    def storage(self, array, storage_name=None):
        self._count += 1
        return FakeStorage(array, str(self._count), storage_name)

    def tensor(self, array):
        array = np.asarray(array)
        strides = [int(np.prod(array.shape[i + 1 :])) for i in range(array.ndim)]
        return FakeTensor(self.storage(array), 0, array.shape, strides)

    def _dump(self, obj, legacy):
        modules = _fake_torch_modules()
        buffer = io.BytesIO()
        with mock.patch.dict(sys.modules, modules):
            pickler = _TorchPickler(buffer, modules, legacy)
            pickler.dump(obj)
        return buffer.getvalue(), pickler.storages

    def view(self, storage, offset, size, stride):
        return FakeTensor(storage, offset, size, stride)

    def legacy_bytes(self, obj, header_pickles=None, body=None):
        """The file; `header_pickles` / `body` replace the header / object pickles."""
        data, storages = self._dump(obj, legacy=True)
        data = data if body is None else body
        out = io.BytesIO()
        headers = header_pickles or [
            pickle.dumps(_LEGACY_MAGIC, protocol=2),
            pickle.dumps(1001, protocol=2),
            pickle.dumps({"protocol_version": 1001, "little_endian": True}, protocol=2),
        ]
        for header in headers:
            out.write(header)
        out.write(data)
        out.write(pickle.dumps(list(storages), protocol=2))
        for storage in storages.values():
            out.write(struct.pack("<q", storage.array.size))
            out.write(storage.array.astype(storage.array.dtype.newbyteorder("<")).data)
        return out.getvalue()

    def write_legacy(self, path, obj):
        Path(path).write_bytes(self.legacy_bytes(obj))
        return path

    def write_zip(self, path, obj, data_pkl=None):
        data, storages = self._dump(obj, legacy=False)
        with zipfile.ZipFile(path, "w", zipfile.ZIP_STORED) as archive:
            archive.writestr("archive/data.pkl", data_pkl or data)
            archive.writestr("archive/byteorder", "little")
            for key, storage in storages.items():
                archive.writestr(f"archive/data/{key}", storage.array.tobytes())
            archive.writestr("archive/version", "3\n")
        return path


@pytest.fixture
def torch_writer():
    return TorchWriter()
