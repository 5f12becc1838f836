import numpy as np
import pytest

from tests.test_case import SHARED

PARITY = SHARED / "reference" / "parity" / "coarse_to_fine_beta1.npz"
CHECKPOINT = SHARED / "reference" / "checkpoints" / "dncnn" / "bias_free" / "0-100.pt"


@pytest.fixture(scope="session")
def reference_denoiser():
    """The imported `dncnn/bias_free/0-100` reference checkpoint (BF-DnCNN)."""
    if not CHECKPOINT.is_file():
        pytest.skip(f"needs ../shared (the reference checkpoint {CHECKPOINT})")
    from keras_miyasawa.presets import import_torch_checkpoint

    return import_torch_checkpoint(str(CHECKPOINT))


@pytest.fixture(scope="session")
def parity_runs():
    """Reference runs of coarse-to-fine with beta = 1 (see ../shared/README.md)."""
    if not PARITY.is_file():
        pytest.skip(f"needs ../shared (the reference runs {PARITY})")
    return dict(np.load(PARITY))
