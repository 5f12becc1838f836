import hashlib
import os

import pytest

from keras_miyasawa.presets import IntegrityError
from keras_miyasawa.presets import cache

DATA = bytes(range(256)) * 5000  # 1.28 MB, more than one download chunk
DIGEST = hashlib.sha256(DATA).hexdigest()


def test_cache_locations_follow_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("KERAS_MIYASAWA_HOME", raising=False)
    monkeypatch.delenv("KERAS_MIYASAWA_CHECKPOINT_DIR", raising=False)
    monkeypatch.setenv("KERAS_HOME", str(tmp_path / "keras"))
    assert cache.get_cache_dir() == tmp_path / "keras" / "keras_miyasawa"
    monkeypatch.setenv("KERAS_MIYASAWA_HOME", str(tmp_path / "home"))
    assert cache.get_preset_cache_dir() == tmp_path / "home" / "presets"
    assert cache.get_checkpoint_dir() == tmp_path / "home" / "checkpoints"
    monkeypatch.setenv("KERAS_MIYASAWA_CHECKPOINT_DIR", str(tmp_path / "ckpt"))
    assert cache.get_checkpoint_dir() == tmp_path / "ckpt"


def test_download_from_a_file_url(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(DATA)
    destination = tmp_path / "cache" / "sub" / "file.pt"
    assert cache.download_file(source.as_uri(), destination, DIGEST) == destination
    assert destination.read_bytes() == DATA
    assert os.listdir(destination.parent) == ["file.pt"]


def test_download_with_a_wrong_sha256_leaves_nothing(tmp_path):
    source = tmp_path / "source.bin"
    source.write_bytes(DATA[:-1] + b"\x00")
    destination = tmp_path / "cache" / "file.pt"
    with pytest.raises(IntegrityError, match="Nothing was cached"):
        cache.download_file(source.as_uri(), destination, DIGEST)
    assert os.listdir(destination.parent) == []


@pytest.mark.parametrize("error", [ConnectionResetError, KeyboardInterrupt])
def test_download_interrupted_halfway_leaves_no_partial_file(tmp_path, error):
    chunks = []

    class _Response:
        def read(self, size):
            if chunks:
                raise error("interrupted")
            chunks.append(size)
            return DATA[: len(DATA) // 2]

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    destination = tmp_path / "cache" / "file.pt"
    with pytest.raises(error):
        cache.download_file(
            "https://example.invalid/file.pt",
            destination,
            DIGEST,
            opener=lambda url, timeout: _Response(),
        )
    assert chunks  # half of the file was received before the interruption
    assert os.listdir(destination.parent) == []


def test_verify_sha256():
    cache.verify_sha256(DATA, DIGEST.upper(), "data")
    with pytest.raises(IntegrityError, match="sha256 mismatch for data"):
        cache.verify_sha256(DATA + b"x", DIGEST, "data")
