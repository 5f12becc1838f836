import numpy as np
import pytest
import tensorflow as tf

import keras_miyasawa as km
from keras_miyasawa.samplers import _common
from tests.samplers import stats


def seed_loop(denoiser, sample_shape, sigma, num_steps, step_size, decay_rate, seed):
    """The guide's Python loop, verbatim but for the random numbers, which are
    the sampler's stateless streams so that the two can be compared."""
    seed = _common.seed_tensor(seed)
    y = _common.normal(sample_shape, _common.step_seed(seed, 0))
    for i in range(num_steps):
        score = km.extract_score_function(denoiser, y, sigma)
        noise = _common.normal(tf.shape(y), _common.step_seed(seed, i + 1))
        y = y + step_size * score + tf.sqrt(2.0 * step_size) * noise
        sigma = sigma * decay_rate
    return y


def test_same_semantics_as_the_guide():
    model = km.models.DnCNN(depth=3, filters=8)
    args = dict(
        sample_shape=(2, 8, 8, 1),
        sigma=0.8,
        num_steps=6,
        step_size=0.01,
        decay_rate=0.9,
        seed=5,
    )
    compiled = km.samplers.sample_with_denoiser(model, **args)
    expected = seed_loop(model, **args)
    np.testing.assert_allclose(compiled, expected, rtol=1e-4, atol=1e-5)


def test_one_trace_and_seeds():
    prior = km.priors.Gaussian(np.zeros(3), 1.0)
    before = _common.TRACE_COUNTS["sample_with_denoiser"]
    a = km.samplers.sample_with_denoiser(prior, (16, 3), 0.5, num_steps=5, seed=1)
    b = km.samplers.sample_with_denoiser(prior, (16, 3), 0.5, num_steps=5, seed=1)
    c = km.samplers.sample_with_denoiser(
        prior, (16, 3), 0.3, num_steps=7, step_size=0.02, decay_rate=1.0, seed=2
    )
    assert _common.TRACE_COUNTS["sample_with_denoiser"] - before == 1
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c[:, :3])


def test_fixed_sigma_samples_the_smoothed_prior():
    """With decay_rate = 1 it is Langevin dynamics on p_sigma = p * N(0, sigma^2)."""
    prior = km.priors.Gaussian(np.zeros(2), np.diag([1.0, 0.25]))
    x = km.samplers.sample_with_denoiser(
        prior,
        (4000, 2),
        sigma=0.5,
        num_steps=400,
        step_size=0.01,
        decay_rate=1.0,
        seed=0,
    )
    variance = np.var(np.asarray(x), axis=0)
    np.testing.assert_allclose(variance, [1.0 + 0.25, 0.25 + 0.25], rtol=0.1)


def test_guide_defaults_on_a_gaussian_mixture():
    """The same measurement as annealed_langevin's, with the guide's defaults.

    sigma decays 23000-fold while the step stays 0.01, so the score
    (x_hat - y) / sigma^2 ends up as float32 rounding error divided by
    sigma^2 ~ 2e-9: the chains are scattered and the two-sample test rejects.
    """
    prior, means, stds = stats.three_component_mixture(2)
    x = km.samplers.sample_with_denoiser(prior, (2000, 2), sigma=1.0, seed=0)
    assert np.isfinite(np.asarray(x)).all()
    _, _, distances = stats.mixture_summary(prior, means, stds, x)
    assert np.median(distances) > 1.5  # exact samples: about 1
    reference = np.asarray(prior.sample(2000, seed=2))
    _, p_value = stats.energy_distance_test(np.asarray(x), reference)
    assert p_value < 0.01


def test_guide_defaults_diverge_with_a_blind_network_and_say_why():
    model = km.models.DnCNN(depth=3, filters=8)
    with pytest.raises(km.samplers.DivergenceError, match="step_size / sigma"):
        km.samplers.sample_with_denoiser(model, (2, 8, 8, 1), sigma=1.0, seed=0)


def test_bad_arguments():
    prior = km.priors.Gaussian(np.zeros(2), 1.0)
    with pytest.raises(ValueError, match=r"sigma must be in .* Received: sigma=-0.1"):
        km.samplers.sample_with_denoiser(prior, (2, 2), sigma=-0.1)
    with pytest.raises(ValueError, match="decay_rate must be in"):
        km.samplers.sample_with_denoiser(prior, (2, 2), 1.0, decay_rate=1.5)
    with pytest.raises(TypeError, match="seed must be an int"):
        km.samplers.sample_with_denoiser(prior, (2, 2), 1.0, seed="a")
    with pytest.raises(TypeError, match="denoiser must be"):
        km.samplers.sample_with_denoiser(42, (2, 2), 1.0)
