"""`fold_batch_norm=` means the same in every sampler that runs a network."""

import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa.samplers import _common
from tests.samplers.test_coarse_to_fine import _model_with_batch_norm_statistics

OPERATOR = km.operators.RandomPixels(0.5, seed=0, image_shape=(8, 8, 1))
MEASUREMENT = OPERATOR.forward(np.full((1, 8, 8, 1), 0.5, "float32"))
SAMPLERS = {
    "red": lambda model, **kw: km.samplers.red(
        model, OPERATOR, MEASUREMENT, num_steps=3, **kw
    ),
    "annealed_langevin": lambda model, **kw: km.samplers.annealed_langevin(
        model, (2, 8, 8, 1), num_levels=2, steps_per_level=2, seed=0, **kw
    ),
    "sample_with_denoiser": lambda model, **kw: km.samplers.sample_with_denoiser(
        model, (2, 8, 8, 1), sigma=0.5, num_steps=3, seed=0, **kw
    ),
}


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_folded_and_plain_runs_agree(name):
    model = _model_with_batch_norm_statistics(0)
    plain = SAMPLERS[name](model, fold_batch_norm=False)
    assert model not in _common._FOLDED
    folded = SAMPLERS[name](model)
    assert model in _common._FOLDED  # the folded copy is what ran
    np.testing.assert_allclose(folded, plain, atol=1e-4)
    assert np.all(np.isfinite(folded))
