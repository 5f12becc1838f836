"""Read `torch.save` files without PyTorch and without running untrusted pickles.

A `torch.save` file is a pickle, and unpickling runs whatever callables the
file names. `load_torch_checkpoint` unpickles with an allow-list: the tensor
rebuild functions and storage types are replaced by local stand-ins that
build NumPy arrays, `collections.OrderedDict` is the only container class
allowed, and `argparse.Namespace` is read as a plain namespace. Any other
global (`os.system`, `builtins.eval`, a model class, ...) is refused before it
is looked up, so nothing in the file is executed.

Both layouts are read: the legacy one (PyTorch < 1.6, or saved with
`_use_new_zipfile_serialization=False`: magic-number, protocol and system-info
pickles, the object pickle, a pickle of storage keys, then each storage's
bytes after an int64 element count) and the zip one (`<archive>/data.pkl`
plus one `<archive>/data/<key>` member per storage).
"""

import collections
import io
import math
import os
import pickle
import struct
import types
import zipfile

import numpy as np

_LEGACY_MAGIC_NUMBER = 0x1950A86A20F9469CFC6C
_LEGACY_PROTOCOL_VERSION = 1001
_MAX_NESTING = 100
# A view may repeat storage elements (stride 0); cap what such a view can expand
# to so that a tiny crafted file cannot ask for terabytes.
_MAX_EXPANDED_ELEMENTS = 1 << 26


class CheckpointError(ValueError):
    """A checkpoint file that cannot be read: truncated, corrupted or unsupported."""


class UnsafeCheckpointError(CheckpointError):
    """A checkpoint that asks the unpickler for a global outside the allow-list."""


class _StorageType:
    """Stand-in for a `torch.*Storage` class: only its element dtype matters.

    An instance, not a class, so a crafted `REDUCE` cannot instantiate it.
    """

    __slots__ = ("name", "dtype")

    def __init__(self, name, dtype):
        self.name = name
        self.dtype = dtype

    def __setstate__(self, state):
        raise UnsafeCheckpointError(f"Refusing to modify the storage type {self.name}.")

    def __repr__(self):
        return f"torch.{self.name}"


_STORAGE_TYPES = {
    name: _StorageType(name, dtype)
    for name, dtype in (
        ("DoubleStorage", "<f8"),
        ("FloatStorage", "<f4"),
        ("HalfStorage", "<f2"),
        ("BFloat16Storage", "bfloat16"),
        ("LongStorage", "<i8"),
        ("IntStorage", "<i4"),
        ("ShortStorage", "<i2"),
        ("CharStorage", "i1"),
        ("ByteStorage", "u1"),
        ("BoolStorage", "?"),
        ("ComplexFloatStorage", "<c8"),
        ("ComplexDoubleStorage", "<c16"),
        ("UntypedStorage", "u1"),
    )
}


def _itemsize(dtype):
    return 2 if dtype == "bfloat16" else np.dtype(dtype).itemsize


class _Storage:
    """A storage whose bytes arrive after the object pickle (legacy format)."""

    __slots__ = ("key", "dtype", "numel", "array")

    def __init__(self, key, dtype, numel):
        self.key = key
        self.dtype = dtype
        self.numel = numel
        self.array = None

    def __setstate__(self, state):
        raise UnsafeCheckpointError("Refusing to modify a storage.")

    def fill(self, data, big_endian=False):
        if self.dtype == "bfloat16":
            bits = np.frombuffer(data, ">u2" if big_endian else "<u2")
            # bfloat16 is the upper half of a float32.
            self.array = (bits.astype("<u4") << 16).view("<f4")
            return
        dtype = np.dtype(self.dtype)
        if big_endian and dtype.itemsize > 1:
            dtype = dtype.newbyteorder(">")
        self.array = np.frombuffer(data, dtype).astype(dtype.newbyteorder("="))


class _LazyTensor:
    """A tensor view `(storage, offset, size, stride)` made concrete after loading."""

    __slots__ = ("storage", "offset", "size", "stride")

    def __init__(self, storage, offset, size, stride):
        self.storage = storage
        self.offset = offset
        self.size = size
        self.stride = stride

    def __setstate__(self, state):
        raise UnsafeCheckpointError("Refusing to modify a tensor.")

    def materialize(self):
        array = self.storage.array
        if array is None:
            raise CheckpointError(
                f"The data of storage {self.storage.key!r} is missing: the file is "
                "truncated or corrupted."
            )
        count = math.prod(self.size)
        if count == 0:
            try:
                return np.zeros(self.size, array.dtype)
            except (ValueError, MemoryError):
                raise CheckpointError(
                    f"Invalid empty tensor of size {self.size}."
                ) from None
        last = self.offset + sum((n - 1) * s for n, s in zip(self.size, self.stride))
        if last >= array.size:
            raise CheckpointError(
                f"A tensor of size {self.size} and stride {self.stride} at offset "
                f"{self.offset} reads past the end of its storage of {array.size} "
                "elements: the file is corrupted."
            )
        if count > max(array.size, _MAX_EXPANDED_ELEMENTS):
            raise CheckpointError(
                f"A tensor of size {self.size} expands a storage of {array.size} "
                "elements beyond the supported limit."
            )
        view = np.lib.stride_tricks.as_strided(
            array[self.offset :],
            shape=self.size,
            strides=[s * array.itemsize for s in self.stride],
            writeable=False,
        )
        return np.array(view)


def _check_int(value, what):
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise CheckpointError(f"Invalid tensor {what} in checkpoint: {value!r}")
    return value


def _check_int_tuple(value, what):
    if not isinstance(value, (tuple, list)) or len(value) > 32:
        raise CheckpointError(f"Invalid tensor {what} in checkpoint: {value!r}")
    return tuple(_check_int(v, what) for v in value)


def _rebuild_tensor(storage, storage_offset, size, stride, *unused):
    if not isinstance(storage, _Storage):
        raise CheckpointError(
            f"A tensor must be built on a storage. Received: {type(storage).__name__}"
        )
    size = _check_int_tuple(size, "size")
    stride = _check_int_tuple(stride, "stride")
    if len(size) != len(stride):
        raise CheckpointError(
            f"Tensor size {size} and stride {stride} have different lengths."
        )
    return _LazyTensor(storage, _check_int(storage_offset, "offset"), size, stride)


def _rebuild_parameter(data, *unused):
    if not isinstance(data, _LazyTensor):
        raise CheckpointError(
            f"A parameter must wrap a tensor. Received: {type(data).__name__}"
        )
    return data


class _SafeCallable:
    """Wraps an allowed function so that a pickle cannot modify it (`BUILD`)."""

    __slots__ = ("_function",)

    def __init__(self, function):
        self._function = function

    def __call__(self, *args):
        return self._function(*args)

    def __setstate__(self, state):
        raise UnsafeCheckpointError("Refusing to modify a rebuild function.")


# Everything a state-dict checkpoint needs; any other global is refused.
_ALLOWED_GLOBALS = {
    ("collections", "OrderedDict"): collections.OrderedDict,
    # Training arguments; read as attribute data, never as argparse objects.
    ("argparse", "Namespace"): types.SimpleNamespace,
    ("torch._utils", "_rebuild_tensor"): _SafeCallable(_rebuild_tensor),
    ("torch._utils", "_rebuild_tensor_v2"): _SafeCallable(_rebuild_tensor),
    ("torch._utils", "_rebuild_parameter"): _SafeCallable(_rebuild_parameter),
    **{("torch", name): storage for name, storage in _STORAGE_TYPES.items()},
}


class _RestrictedUnpickler(pickle.Unpickler):
    """An unpickler that resolves only `_ALLOWED_GLOBALS`.

    `find_class` is the only way a pickle reaches a Python object by name
    (`GLOBAL`, `STACK_GLOBAL`, `INST`, `OBJ` and the copyreg extension codes all
    go through it), so refusing there refuses before anything is imported or
    called.
    """

    def __init__(self, file, storages=None, archive=None, big_endian=False):
        super().__init__(file)
        self._storages = storages
        self._archive = archive
        self._big_endian = big_endian

    def find_class(self, module, name):
        allowed = _ALLOWED_GLOBALS.get((module, name))
        if allowed is None:
            raise UnsafeCheckpointError(
                f"Refusing to load the global '{module}.{name}' from a checkpoint: "
                "only tensors, storages, OrderedDict and argparse.Namespace are "
                "allowed, so a checkpoint cannot run code. Save a plain state_dict "
                "(`torch.save(model.state_dict(), path)`) to import it."
            )
        return allowed

    def persistent_load(self, pid):
        if self._storages is None:
            raise CheckpointError(
                "Unexpected persistent reference in a checkpoint header pickle."
            )
        if not isinstance(pid, tuple) or not pid:
            raise CheckpointError(f"Invalid persistent id in checkpoint: {pid!r}")
        typename = pid[0].decode("ascii") if isinstance(pid[0], bytes) else pid[0]
        if typename == "module":
            raise UnsafeCheckpointError(
                "Refusing to load a pickled torch.nn.Module: save and import its "
                "state_dict instead."
            )
        if typename != "storage" or len(pid) not in (5, 6):
            raise CheckpointError(f"Unsupported persistent id in checkpoint: {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        view_metadata = pid[5] if len(pid) == 6 else None
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"Invalid storage type in checkpoint: {pid!r}")
        _check_int(numel, "storage size")
        if not isinstance(key, (str, int)):
            raise CheckpointError(f"Invalid storage key in checkpoint: {key!r}")
        key = str(key)
        storage = self._storages.get(key)
        if storage is None:
            storage = _Storage(key, storage_type.dtype, numel)
            self._storages[key] = storage
            if self._archive is not None:
                self._archive.read_storage(storage, self._big_endian)
        elif storage.dtype != storage_type.dtype or storage.numel != numel:
            raise CheckpointError(
                f"Storage {key!r} is declared twice with different types or sizes."
            )
        if view_metadata is not None:
            raise CheckpointError(
                "Storage views (PyTorch < 0.4 checkpoints) are not supported."
            )
        return storage


def _restricted_load(file, **kwargs):
    try:
        return _RestrictedUnpickler(file, **kwargs).load()
    except CheckpointError:
        raise
    except (EOFError, pickle.UnpicklingError) as error:
        raise CheckpointError(
            f"The checkpoint is truncated or corrupted ({error})."
        ) from None
    except (TypeError, ValueError, AttributeError, IndexError, KeyError) as error:
        raise CheckpointError(
            f"The checkpoint holds malformed pickle data ({type(error).__name__}: "
            f"{error})."
        ) from None
    except (RecursionError, MemoryError) as error:
        raise CheckpointError(
            f"The checkpoint's pickle data is too large or nested to read ({error})."
        ) from None


class _ZipArchive:
    """Storage bytes of a zip checkpoint, read on demand with size checks."""

    def __init__(self, zip_file, prefix):
        self._zip = zip_file
        self._prefix = prefix

    def read_storage(self, storage, big_endian):
        name = f"{self._prefix}/data/{storage.key}"
        try:
            info = self._zip.getinfo(name)
        except KeyError:
            raise CheckpointError(
                f"The checkpoint has no member {name!r} for storage {storage.key!r}: "
                "it is truncated or corrupted."
            ) from None
        nbytes = storage.numel * _itemsize(storage.dtype)
        if info.file_size != nbytes:
            raise CheckpointError(
                f"Storage {storage.key!r} holds {info.file_size} bytes, expected "
                f"{nbytes}: the checkpoint is truncated or corrupted."
            )
        try:
            data = self._zip.read(info)
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise CheckpointError(
                f"Cannot read storage {storage.key!r}: the checkpoint is truncated or "
                f"corrupted ({error})."
            ) from None
        storage.fill(data, big_endian)


def _load_zip(file, name):
    try:
        zip_file = zipfile.ZipFile(file)
    except (zipfile.BadZipFile, OSError, EOFError) as error:
        raise CheckpointError(
            f"Cannot read the zip checkpoint {name!r}: it is truncated or "
            f"corrupted ({error})."
        ) from None
    with zip_file:
        pickles = [n for n in zip_file.namelist() if n.endswith("/data.pkl")]
        pickles = [n for n in pickles if n.count("/") == 1]
        if len(pickles) != 1:
            raise CheckpointError(
                f"{name!r} is a zip file but not a torch.save checkpoint "
                "(expected exactly one '<archive>/data.pkl')."
            )
        prefix = pickles[0].split("/")[0]
        big_endian = False
        if f"{prefix}/byteorder" in zip_file.namelist():
            big_endian = zip_file.read(f"{prefix}/byteorder").strip() == b"big"
        try:
            data = zip_file.read(pickles[0])
        except (zipfile.BadZipFile, OSError, EOFError) as error:
            raise CheckpointError(
                f"Cannot read {pickles[0]!r}: the checkpoint is truncated or "
                f"corrupted ({error})."
            ) from None
        return _restricted_load(
            io.BytesIO(data),
            storages={},
            archive=_ZipArchive(zip_file, prefix),
            big_endian=big_endian,
        )


def _load_legacy(file, size):
    magic = _restricted_load(file)
    if magic != _LEGACY_MAGIC_NUMBER:
        raise CheckpointError(
            "Not a torch.save checkpoint (invalid magic number): the file is "
            "corrupted or of another format."
        )
    protocol = _restricted_load(file)
    if protocol != _LEGACY_PROTOCOL_VERSION:
        raise CheckpointError(
            f"Unsupported legacy checkpoint protocol {protocol!r} (expected "
            f"{_LEGACY_PROTOCOL_VERSION})."
        )
    sys_info = _restricted_load(file)
    big_endian = isinstance(sys_info, dict) and sys_info.get("little_endian") is False
    storages = {}
    result = _restricted_load(file, storages=storages, big_endian=big_endian)
    keys = _restricted_load(file)
    if (
        not isinstance(keys, list)
        or len(keys) != len(storages)
        or set(map(str, keys)) != set(storages)
    ):
        raise CheckpointError(
            "The checkpoint's storage table does not match its tensors: the file is "
            "corrupted."
        )
    for key in map(str, keys):
        storage = storages[key]
        header = file.read(8)
        if len(header) != 8:
            raise CheckpointError(
                f"The checkpoint is truncated: storage {key!r} is missing."
            )
        (numel,) = struct.unpack(">q" if big_endian else "<q", header)
        if numel != storage.numel:
            raise CheckpointError(
                f"Storage {key!r} announces {numel} elements, expected "
                f"{storage.numel}: the file is corrupted."
            )
        nbytes = numel * _itemsize(storage.dtype)
        if nbytes > size - file.tell():
            raise CheckpointError(
                f"The checkpoint is truncated: storage {key!r} needs {nbytes} bytes, "
                f"{max(size - file.tell(), 0)} are left."
            )
        storage.fill(file.read(nbytes), big_endian)
    return result


def _materialize(obj, memo, depth=0):
    if depth > _MAX_NESTING:
        raise CheckpointError("The checkpoint is nested too deeply.")
    if isinstance(obj, _LazyTensor):
        return obj.materialize()
    if isinstance(obj, (_Storage, _StorageType)):
        raise CheckpointError("Bare storages are not supported in a checkpoint.")
    if not isinstance(obj, (dict, list, tuple, types.SimpleNamespace)):
        return obj
    if id(obj) in memo:
        return memo[id(obj)]
    if isinstance(obj, tuple):
        result = tuple(_materialize(v, memo, depth + 1) for v in obj)
        memo[id(obj)] = result
        return result
    memo[id(obj)] = obj
    if isinstance(obj, list):
        obj[:] = [_materialize(v, memo, depth + 1) for v in obj]
    elif isinstance(obj, dict):
        for key in list(obj):
            obj[key] = _materialize(obj[key], memo, depth + 1)
    else:
        for key, value in list(vars(obj).items()):
            setattr(obj, key, _materialize(value, memo, depth + 1))
    return obj


def load_torch_checkpoint(path):
    """Reads a `torch.save` file into NumPy arrays and plain Python objects.

    Tensors become `numpy.ndarray` (bfloat16 is widened to float32),
    `OrderedDict`, `dict`, `list`, `tuple` and scalars stay as they are, and an
    `argparse.Namespace` becomes a `types.SimpleNamespace`. Every other global
    is refused, so loading a file never executes code from it.

    Args:
        path: path of a `.pt`/`.pth` file in the legacy or the zip format, or
            a seekable binary file object (e.g. `io.BytesIO`).

    Returns:
        The unpickled object, e.g. a state dict mapping names to arrays.

    Raises:
        FileNotFoundError: if `path` does not exist.
        UnsafeCheckpointError: if the file names a global outside the
            allow-list (e.g. `os.system`, a model class).
        CheckpointError: if the file is truncated, corrupted or of an
            unsupported format.

    Example:

    >>> import keras_miyasawa as km
    >>> checkpoint = km.presets.load_torch_checkpoint("0-55.pt")  # doctest: +SKIP
    >>> checkpoint["model"][0]["first_layer.weight"].shape  # doctest: +SKIP
    (64, 1, 3, 3)
    """
    if hasattr(path, "read"):
        return _materialize(_load_file(path, "<file object>"), {})
    path = os.fspath(path)
    if not os.path.isfile(path):
        raise FileNotFoundError(f"No checkpoint file at path={path!r}")
    with open(path, "rb") as file:
        return _materialize(_load_file(file, path), {})


def _load_file(file, name):
    file.seek(0, os.SEEK_END)
    size = file.tell()
    file.seek(0)
    if size == 0:
        raise CheckpointError(f"The checkpoint {name!r} is empty.")
    # torch.load tells the layouts apart by the first bytes, as done here.
    if file.read(4) == b"PK\x03\x04":
        file.seek(0)
        return _load_zip(file, name)
    file.seek(0)
    return _load_legacy(file, size)
