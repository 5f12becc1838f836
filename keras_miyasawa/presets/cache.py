"""Cache directories, sha256 checks and atomic downloads for presets.

Two locations, each overridable by an environment variable:

- `KERAS_MIYASAWA_HOME` (default `~/.keras/keras_miyasawa`): converted
  presets are cached under `presets/<name>/`;
- `KERAS_MIYASAWA_CHECKPOINT_DIR` (default `$KERAS_MIYASAWA_HOME/checkpoints`):
  the original PyTorch files, laid out as `<arch>/<bias|bias_free>/<range>.pt`,
  so a local copy of the upstream `pretrained/` folder can be used as is.

Files are written to a temporary name in the destination folder and renamed
into place only once complete and verified, so an interrupted download or
conversion never leaves a partial file where the loader would find it.
"""

import hashlib
import os
import tempfile
import urllib.request
from pathlib import Path

HOME_ENV = "KERAS_MIYASAWA_HOME"
CHECKPOINT_DIR_ENV = "KERAS_MIYASAWA_CHECKPOINT_DIR"
_CHUNK_SIZE = 1 << 20


class IntegrityError(ValueError):
    """A file whose sha256 differs from the expected one."""


def get_cache_dir():
    """The cache root: `$KERAS_MIYASAWA_HOME` or `~/.keras/keras_miyasawa`.

    Returns:
        A `pathlib.Path` (not created here).
    """
    value = os.environ.get(HOME_ENV)
    if value:
        return Path(value).expanduser()
    keras_home = os.environ.get("KERAS_HOME") or os.path.join("~", ".keras")
    return Path(keras_home).expanduser() / "keras_miyasawa"


def get_checkpoint_dir():
    """Where original checkpoints are looked for and downloaded to.

    Returns:
        `$KERAS_MIYASAWA_CHECKPOINT_DIR` or `get_cache_dir() / "checkpoints"`.
    """
    value = os.environ.get(CHECKPOINT_DIR_ENV)
    if value:
        return Path(value).expanduser()
    return get_cache_dir() / "checkpoints"


def get_preset_cache_dir():
    """Where converted presets are cached: `get_cache_dir() / "presets"`."""
    return get_cache_dir() / "presets"


def sha256_bytes(data):
    return hashlib.sha256(data).hexdigest()


def sha256_file(path):
    """The hex sha256 of a file, read in chunks."""
    digest = hashlib.sha256()
    with open(path, "rb") as file:
        for chunk in iter(lambda: file.read(_CHUNK_SIZE), b""):
            digest.update(chunk)
    return digest.hexdigest()


def verify_sha256(data, expected, what):
    """Raises `IntegrityError` unless `sha256(data) == expected`."""
    actual = sha256_bytes(data)
    if actual != expected.lower():
        raise IntegrityError(
            f"sha256 mismatch for {what}: expected {expected}, got {actual}. The "
            "file is corrupted or not the published one; delete it and retry."
        )


def download_file(url, destination, sha256, opener=None, timeout=60):
    """Downloads `url` to `destination` atomically, verifying its sha256.

    The bytes go to a temporary file next to `destination`, hashed on the
    way; only a complete file with the expected sha256 is renamed to
    `destination`. On any error (network, interruption, wrong hash) the
    temporary file is removed and nothing is left at `destination`.

    Args:
        url: the source (`https://` or `file://`).
        destination: the final path; its folder is created.
        sha256: the expected hex digest.
        opener: a callable `opener(url, timeout=...)` returning a readable
            response; defaults to `urllib.request.urlopen`.
        timeout: seconds for the connection.

    Returns:
        `destination` as a `pathlib.Path`.

    Raises:
        IntegrityError: if the downloaded bytes have another sha256.
        OSError: if the download fails (`urllib.error.URLError` is one).
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    opener = urllib.request.urlopen if opener is None else opener
    fd, temp_name = tempfile.mkstemp(
        dir=destination.parent, prefix=f".{destination.name}.", suffix=".part"
    )
    try:
        digest = hashlib.sha256()
        with os.fdopen(fd, "wb") as out, opener(url, timeout=timeout) as response:
            for chunk in iter(lambda: response.read(_CHUNK_SIZE), b""):
                digest.update(chunk)
                out.write(chunk)
        if digest.hexdigest() != sha256.lower():
            raise IntegrityError(
                f"sha256 mismatch for the download of {url}: expected {sha256}, got "
                f"{digest.hexdigest()}. Nothing was cached."
            )
        os.replace(temp_name, destination)
    except BaseException:
        if os.path.exists(temp_name):
            os.remove(temp_name)
        raise
    return destination
