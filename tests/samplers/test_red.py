import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa.samplers import _common


def test_fixed_point_of_a_linear_denoiser_is_the_red_solution():
    """With a Wiener filter f(x) = W x, RED's fixed point solves a linear system."""
    rng = np.random.default_rng(0)
    shape = (4, 4, 1)
    n = 16
    basis, _ = np.linalg.qr(rng.normal(size=(n, n)))
    covariance = basis @ np.diag(np.linspace(0.01, 1.0, n)) @ basis.T
    prior = km.priors.Gaussian(np.zeros(shape), covariance)
    sigma, lam = 0.3, 0.5
    wiener = covariance @ np.linalg.inv(covariance + sigma**2 * np.eye(n))

    def denoiser(y, s):
        return prior.denoise(y, s)

    operator = km.operators.RandomPixels(0.5, seed=1, image_shape=shape)
    x = np.asarray(prior.sample(2, seed=3))
    measurement = operator.forward(x)
    estimate = km.samplers.red(
        denoiser, operator, measurement, sigma=sigma, lam=lam, num_steps=300
    )
    # Gradient M (M^T x - x_c) + lam (x - W x) = 0 with M M^T = diag(mask).
    mask = operator.observed_mask.reshape(-1).astype("float64")
    system = np.diag(mask) + lam * (np.eye(n) - wiener)
    observed = np.asarray(operator.adjoint(measurement)).reshape(2, n)
    expected = np.linalg.solve(system, observed.T).T.reshape(x.shape)
    np.testing.assert_allclose(estimate, expected, atol=1e-4)


def test_blind_keras_denoiser_trace_once_trajectory_and_projection():
    model = km.models.DnCNN(depth=3, filters=8)
    operator = km.operators.SuperResolution(2, image_shape=(8, 8, 1))
    x = np.random.default_rng(0).uniform(size=(2, 8, 8, 1)).astype("float32")
    measurement = operator.forward(x)
    before = _common.TRACE_COUNTS["red"]
    a = km.samplers.red(model, operator, measurement, num_steps=5)
    km.samplers.red(model, operator, measurement, lam=0.3, num_steps=3)
    assert _common.TRACE_COUNTS["red"] - before == 1
    b, trajectory = km.samplers.red(
        model, operator, measurement, num_steps=5, trajectory_every=2
    )
    np.testing.assert_allclose(a, b, atol=1e-6)
    assert trajectory.shape == (3, 2, 8, 8, 1)  # steps 0, 2, 4
    projected = km.samplers.red(model, operator, measurement, num_steps=5, project=True)
    np.testing.assert_allclose(operator.forward(projected), measurement, atol=1e-5)


def test_sigma_rules_and_divergence():
    prior = km.priors.Gaussian(np.zeros((4, 4, 1)), 1.0)
    operator = km.operators.SuperResolution(2, image_shape=(4, 4, 1))
    measurement = np.zeros((1, 2, 2, 1), "float32")
    with pytest.raises(ValueError, match="Received: sigma=None"):
        km.samplers.red(prior, operator, measurement)
    with pytest.raises(ValueError, match="only used by a noise-conditional"):
        km.samplers.red(lambda y: y, operator, measurement, sigma=0.1)
    with pytest.raises(km.samplers.DivergenceError, match="red diverged"):
        km.samplers.red(lambda y: 1e30 * y + 1.0, operator, measurement)
