import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa import analysis

SIGMA = 0.3


def _gaussian(diagonal=False, dim=12, seed=0):
    rng = np.random.default_rng(seed)
    if diagonal:
        covariance = np.diag(rng.uniform(0.01, 0.5, dim))
    else:
        a = rng.normal(size=(dim, dim))
        covariance = a @ a.T / dim * 0.2
    prior = km.priors.Gaussian(np.zeros(dim), covariance)
    eigvals, eigvecs = np.linalg.eigh(covariance)
    # The Wiener filter's Jacobian: J = C (C + sigma^2 I)^-1.
    jacobian = eigvecs @ np.diag(eigvals / (eigvals + SIGMA**2)) @ eigvecs.T
    return prior, jacobian


def _blind(prior):
    return lambda y: prior.denoise(y, SIGMA)


def test_jvp_and_vjp_match_the_closed_form_jacobian():
    prior, jacobian = _gaussian()
    rng = np.random.default_rng(1)
    y, v = rng.normal(size=(2, 5, 12))
    x_hat, jv = analysis.jvp(_blind(prior), y, v)
    _, jtv = analysis.vjp(prior, y, v, sigma=SIGMA)
    np.testing.assert_allclose(np.asarray(jv), v @ jacobian.T, atol=1e-6)
    np.testing.assert_allclose(np.asarray(jtv), v @ jacobian, atol=1e-6)
    np.testing.assert_allclose(np.asarray(x_hat), y @ jacobian.T, atol=1e-6)


def test_asymmetry_is_zero_for_a_symmetric_jacobian_only():
    prior, _ = _gaussian()
    y = np.random.default_rng(2).normal(size=(4, 12))
    asym = analysis.jacobian_asymmetry(_blind(prior), y, num_probes=2)
    assert np.max(asym) < 1e-10
    skew = np.triu(np.ones((12, 12)))  # A non-symmetric linear map.
    asym = analysis.jacobian_asymmetry(lambda y: y @ skew.T, y)
    assert np.min(asym) > 0.3


def test_hutchinson_is_exact_for_a_diagonal_jacobian():
    prior, jacobian = _gaussian(diagonal=True)
    y = np.random.default_rng(3).normal(size=(3, 12))
    divergence = analysis.hutchinson_divergence(_blind(prior), y, seed=5)
    np.testing.assert_allclose(np.asarray(divergence), np.trace(jacobian), rtol=1e-6)


def test_hutchinson_is_unbiased_for_a_full_jacobian():
    prior, jacobian = _gaussian()
    y = np.zeros((400, 12))
    divergence = np.asarray(analysis.hutchinson_divergence(prior, y, SIGMA, seed=1))
    standard_error = divergence.std() / np.sqrt(len(divergence))
    assert abs(divergence.mean() - np.trace(jacobian)) < 4 * standard_error
    assert divergence.std() > 0  # Not exact: the probes matter.


def test_sure_matches_its_formula_and_the_true_mse():
    prior, jacobian = _gaussian()
    rng = np.random.default_rng(4)
    x = np.asarray(prior.sample(2000, seed=40))
    y = x + SIGMA * rng.normal(size=x.shape)
    exact_divergence = np.full(len(y), np.trace(jacobian))
    sure = np.asarray(
        analysis.sure_mse(_blind(prior), y, SIGMA, divergence=exact_divergence)
    )
    residual = y @ jacobian.T - y
    expected = (residual**2).mean(1) - SIGMA**2 + 2 * SIGMA**2 * np.trace(jacobian) / 12
    np.testing.assert_allclose(sure, expected, rtol=1e-6)
    true_mse = ((y @ jacobian.T - x) ** 2).mean(1)
    # Both estimate the MMSE sigma^2 tr(J) / N of the Wiener filter.
    mmse = SIGMA**2 * np.trace(jacobian) / 12
    assert abs(sure.mean() - mmse) < 0.05 * mmse
    assert abs(true_mse.mean() - mmse) < 0.05 * mmse


def test_works_on_a_keras_denoiser():
    model = km.models.DnCNN(depth=3, filters=4)
    y = np.random.default_rng(5).uniform(size=(2, 8, 8, 1)).astype("float32")
    stats = analysis.jacobian_probe_statistics(model, y, num_probes=2, seed=1)
    assert stats["asymmetry"].shape == (2,) and stats["divergence"].shape == (2,)
    assert np.all(np.isfinite(stats["asymmetry"]))
    # The bias-free DnCNN is piecewise linear: J y = f(y).
    _, jy = analysis.jvp(model, y, y)
    np.testing.assert_allclose(jy, model(y, training=False), rtol=1e-4, atol=1e-5)


def test_conditional_denoiser_needs_sigma():
    prior, _ = _gaussian()
    with pytest.raises(ValueError, match="sigma=None"):
        analysis.hutchinson_divergence(prior, np.zeros((1, 12)))
