import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa.samplers import _common
from tests.samplers import stats

# Settings per dimension: the exact conditional score of the mixture, 2,000
# chains, a geometric schedule wide enough for the spread of the means.
SETTINGS = {
    2: dict(
        sigma_max=5.0, sigma_min=0.02, num_levels=10, steps_per_level=100, epsilon=2e-4
    ),
    16: dict(
        sigma_max=8.0, sigma_min=0.02, num_levels=10, steps_per_level=200, epsilon=5e-5
    ),
}


@pytest.mark.parametrize("dim", [2, 16])
def test_samples_match_a_gaussian_mixture(dim):
    prior, means, stds = stats.three_component_mixture(dim)
    x = km.samplers.annealed_langevin(
        prior, (2000, dim), init_mean=0.0, seed=1, **SETTINGS[dim]
    )
    weights, mean_errors, _ = stats.mixture_summary(prior, means, stds, x)
    np.testing.assert_allclose(weights, prior.weights, atol=0.05)
    assert mean_errors.max() <= 0.1
    reference = np.asarray(prior.sample(2000, seed=2))
    _, p_value = stats.energy_distance_test(np.asarray(x), reference)
    assert p_value > 0.01

    # The same test has the power to reject samples of a wrong prior (the
    # weights reversed).
    wrong = km.priors.GaussianMixture(prior.weights[::-1], means, stds**2)
    x_wrong = km.samplers.annealed_langevin(
        wrong, (2000, dim), init_mean=0.0, seed=1, **SETTINGS[dim]
    )
    _, p_value = stats.energy_distance_test(np.asarray(x_wrong), reference)
    assert p_value < 0.01


def test_one_trace_across_hyperparameters_and_same_seed_same_samples():
    prior, _, _ = stats.three_component_mixture(2)
    before = _common.TRACE_COUNTS["annealed_langevin"]
    kwargs = dict(sample_shape=(64, 2), num_levels=3, steps_per_level=5, seed=7)
    a = km.samplers.annealed_langevin(prior, **kwargs)
    b = km.samplers.annealed_langevin(prior, **kwargs)
    km.samplers.annealed_langevin(
        prior,
        (64, 2),
        sigma_max=3.0,
        sigma_min=0.1,
        num_levels=4,
        steps_per_level=2,
        epsilon=1e-3,
        init_mean=0.0,
        seed=8,
    )
    assert _common.TRACE_COUNTS["annealed_langevin"] - before == 1
    np.testing.assert_array_equal(a, b)


def test_trajectory_every_k_steps_and_final_denoise():
    prior, _, _ = stats.three_component_mixture(2)
    samples, trajectory = km.samplers.annealed_langevin(
        prior, (4, 2), num_levels=2, steps_per_level=5, trajectory_every=3, seed=0
    )
    # y_0, then steps 3, 6 and 9 of 10.
    assert trajectory.shape == (4, 4, 2)
    last = km.samplers.annealed_langevin(
        prior, (4, 2), num_levels=2, steps_per_level=5, final_denoise=False, seed=0
    )
    # The final denoising step is Tweedie's formula at sigma_min.
    expected = prior.denoise(np.asarray(last), 0.01)
    np.testing.assert_allclose(samples, expected, atol=1e-5)


def test_blind_keras_denoiser_and_xla():
    model = km.models.DnCNN(depth=3, filters=8)
    kwargs = dict(sample_shape=(2, 8, 8, 1), num_levels=2, steps_per_level=3, seed=0)
    graph = km.samplers.annealed_langevin(model, **kwargs)
    xla = km.samplers.annealed_langevin(model, jit_compile=True, **kwargs)
    assert graph.shape == (2, 8, 8, 1)
    np.testing.assert_allclose(xla, graph, atol=1e-4)


def test_too_large_epsilon_is_reported():
    prior = km.priors.Gaussian(np.zeros(2), 1.0)
    with pytest.raises(km.samplers.DivergenceError, match="reduce epsilon"):
        km.samplers.annealed_langevin(
            prior,
            (4, 2),
            sigma_max=10.0,
            sigma_min=0.01,
            epsilon=1.0,
            steps_per_level=50,
            seed=0,
        )


def test_bad_arguments():
    prior = km.priors.Gaussian(np.zeros(2), 1.0)
    with pytest.raises(ValueError, match="sigma_min must be in"):
        km.samplers.annealed_langevin(prior, (2, 2), sigma_max=1.0, sigma_min=2.0)
    with pytest.raises(ValueError, match="sample_shape must be"):
        km.samplers.annealed_langevin(prior, (2,))
    with pytest.raises(TypeError, match="num_levels must be an int"):
        km.samplers.annealed_langevin(prior, (2, 2), num_levels=2.5)
    with pytest.raises(ValueError, match="init must have shape"):
        km.samplers.annealed_langevin(prior, (2, 2), init=np.zeros((3, 2)))
