import numpy as np
import pytest

import keras_miyasawa as km
from tests import test_case


@pytest.fixture
def mixture():
    return km.priors.GaussianMixture([0.4, 0.6], [[-1.0, 0.0], [1.0, 1.0]], [0.2, 0.5])


@pytest.fixture
def dncnn():
    return km.models.DnCNN(depth=3, filters=4)


def test_prior_score_and_energy(mixture):
    y = np.random.default_rng(0).normal(size=(5, 2))
    expected = np.asarray(mixture.score(y, 0.3))
    np.testing.assert_allclose(km.extract_score_function(mixture, y, 0.3), expected)
    np.testing.assert_allclose(km.score(mixture, y, 0.3), expected)
    np.testing.assert_allclose(km.energy_gradient(mixture, y, 0.3), -expected)


def test_keras_model_score_is_the_seed_formula(dncnn):
    y = test_case.random_images((2, 12, 12, 1))
    expected = (np.asarray(dncnn(y, training=False)) - y) / 0.1**2
    np.testing.assert_allclose(
        km.extract_score_function(dncnn, y, 0.1), expected, rtol=1e-5, atol=1e-5
    )


def test_callables_blind_and_conditional(mixture):
    y = np.random.default_rng(1).normal(size=(4, 2))
    conditional = lambda y, sigma: mixture.denoise(y, sigma)  # noqa: E731
    blind = lambda y: mixture.denoise(y, 0.3)  # noqa: E731
    expected = np.asarray(mixture.score(y, 0.3))
    np.testing.assert_allclose(km.extract_score_function(conditional, y, 0.3), expected)
    np.testing.assert_allclose(km.extract_score_function(blind, y, 0.3), expected)


def test_per_example_sigma(mixture):
    y = np.random.default_rng(2).normal(size=(3, 2))
    sigmas = np.array([0.1, 0.5, 2.0])
    scores = np.asarray(km.score(mixture, y, sigmas))
    for i, s in enumerate(sigmas):
        np.testing.assert_allclose(
            scores[i], np.asarray(mixture.score(y[i : i + 1], s))[0]
        )


def test_estimate_noise_level_per_example():
    # A prior concentrated near 0 in 400 dims: the blind MMSE residual is ~ -noise.
    prior = km.priors.Gaussian(np.zeros(400), 1e-6)
    blind = prior.blind_denoiser((0.05, 0.5))
    rng = np.random.default_rng(3)
    sigmas = np.array([0.1, 0.3])
    y = sigmas[:, None] * rng.normal(size=(2, 400))
    estimate = np.asarray(km.estimate_noise_level(blind, y))
    assert estimate.shape == (2,)
    np.testing.assert_allclose(estimate, sigmas, rtol=0.1)


def test_blind_score_uses_estimated_sigma(dncnn):
    y = test_case.random_images((2, 8, 8, 1))
    residual = np.asarray(dncnn(y, training=False)) - y
    variance = (residual.reshape(2, -1) ** 2).mean(axis=1)[:, None, None, None]
    np.testing.assert_allclose(km.score(dncnn, y), residual / variance, rtol=1e-4)
    sigma_hat = np.asarray(km.estimate_noise_level(dncnn, y))
    np.testing.assert_allclose(sigma_hat**2, variance.ravel(), rtol=1e-5)


def test_denoise_from_score_inverts(mixture):
    y = np.random.default_rng(4).normal(size=(6, 2))
    expected = np.asarray(mixture.denoise(y, 0.4))
    np.testing.assert_allclose(km.denoise_from_score(mixture, y, 0.4), expected)
    score_fn = lambda y, sigma: mixture.score(y, sigma)  # noqa: E731
    np.testing.assert_allclose(km.denoise_from_score(score_fn, y, 0.4), expected)
    blind_score = lambda y: mixture.score(y, 0.4)  # noqa: E731
    np.testing.assert_allclose(km.denoise_from_score(blind_score, y, 0.4), expected)


@pytest.mark.parametrize(
    "call, error, match",
    [
        (lambda m, p: km.extract_score_function(m, _y(), 0.0), ValueError, "sigma=0.0"),
        (lambda m, p: km.extract_score_function(m, _y(), -1), ValueError, "positive"),
        (lambda m, p: km.score(m, _y(), float("inf")), ValueError, "finite"),
        (lambda m, p: km.score(m, _y().astype("uint8"), 0.1), TypeError, "dtype uint8"),
        (lambda m, p: km.score(m, _y()[:0], 0.1), ValueError, "empty batch"),
        (
            lambda m, p: km.score(m, _y()[..., :0].repeat(3, -1), 0.1),
            ValueError,
            "channel",
        ),
        (lambda m, p: km.score(m, _y()[0], 0.1), ValueError, "rank 4"),
        (lambda m, p: km.score("model", _y(), 0.1), TypeError, "type str"),
        (
            lambda m, p: km.score(p, np.zeros((2, 2)), None),
            ValueError,
            "sigma is required",
        ),
        (lambda m, p: km.estimate_noise_level(p, np.zeros((2, 2))), TypeError, "blind"),
        (
            lambda m, p: km.denoise_from_score(3, np.zeros((2, 2)), 1.0),
            TypeError,
            "score_fn",
        ),
    ],
)
def test_bad_input_is_clear(dncnn, mixture, call, error, match):
    with pytest.raises(error, match=match):
        call(dncnn, mixture)


def _y():
    return test_case.random_images((2, 8, 8, 1))
