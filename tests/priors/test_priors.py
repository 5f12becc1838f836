import numpy as np
import pytest
import tensorflow as tf

from keras_miyasawa import priors


def _gaussian(dim, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(dim, dim))
    return priors.Gaussian(rng.normal(size=dim), a @ a.T / dim + 0.1 * np.eye(dim))


def _mixture(dim, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.normal(size=(dim, dim))
    covariances = [a @ a.T / dim, np.full(dim, 0.3), 0.05 * np.eye(dim)]
    return priors.GaussianMixture(
        [0.2, 0.5, 0.3], 2.0 * rng.normal(size=(3, dim)), covariances
    )


def _empirical(shape, seed=0):
    return priors.Empirical(np.random.default_rng(seed).uniform(size=(7, *shape)))


PRIORS = {
    "gaussian-1d": lambda: _gaussian(1),
    "gaussian-5d": lambda: _gaussian(5),
    "gaussian-image": lambda: priors.Gaussian(np.zeros((3, 2, 1)), 0.5),
    "mixture-1d": lambda: _mixture(1),
    "mixture-2d": lambda: _mixture(2),
    "mixture-6d": lambda: _mixture(6),
    "mixture-isotropic": lambda: priors.GaussianMixture(
        [1, 3], [[0.0, 1.0], [2.0, -1]], 0.2
    ),
    "empirical-3d": lambda: _empirical((3,)),
    "empirical-image": lambda: _empirical((4, 4, 1)),
}
SIGMAS = [0.05, 0.3, 1.0, 2.5]


def _noisy(prior, sigma, seed=1, batch=16):
    rng = np.random.default_rng(seed)
    x = np.asarray(prior.sample(batch, seed=seed, dtype="float64"))
    return x + np.asarray(sigma).reshape((-1,) + (1,) * len(prior.event_shape)) * (
        rng.normal(size=x.shape)
    )


def _relative_error(actual, expected):
    actual, expected = np.asarray(actual), np.asarray(expected)
    return np.max(np.abs(actual - expected)) / np.max(np.abs(expected))


@pytest.mark.parametrize("name", PRIORS)
@pytest.mark.parametrize("sigma", SIGMAS + ["per-example"])
def test_miyasawa_identity(name, sigma):
    """denoise(y, s) == y + s^2 * grad_y log p_s(y), by autodiff, in float64."""
    prior = PRIORS[name]()
    if sigma == "per-example":
        sigma = np.linspace(0.1, 1.5, 16)
    y = tf.constant(_noisy(prior, sigma))
    with tf.GradientTape() as tape:
        tape.watch(y)
        total_log_prob = tf.reduce_sum(prior.log_prob(y, sigma))
    grad = tape.gradient(total_log_prob, y).numpy()
    s2 = np.square(np.asarray(sigma)).reshape((-1,) + (1,) * len(prior.event_shape))
    denoised = prior.denoise(y, sigma)
    assert denoised.dtype == tf.float64
    assert _relative_error(denoised, y.numpy() + s2 * grad) <= 1e-6
    np.testing.assert_allclose(prior.score(y, sigma), grad, rtol=1e-6, atol=1e-9)
    np.testing.assert_allclose(
        prior.energy_gradient(y, sigma), -grad, rtol=1e-6, atol=1e-9
    )


@pytest.mark.parametrize("name", ["gaussian-1d", "mixture-1d"])
@pytest.mark.parametrize("sigma", [0.2, 1.0])
def test_one_dimensional_against_quadrature(name, sigma):
    """log_prob integrates to 1 and denoise is E[x | y] by brute-force integration."""
    prior = PRIORS[name]()
    grid = np.linspace(-15, 15, 30001)
    density = np.exp(np.asarray(prior.log_prob(grid[:, None], sigma)))
    assert abs(np.trapezoid(density, grid) - 1.0) < 1e-6
    # Prior density on the grid: p_0 = lim sigma -> 0, via a tiny sigma.
    prior_density = np.exp(np.asarray(prior.log_prob(grid[:, None], 1e-3)))
    for y in (-1.3, 0.2, 2.7):
        likelihood = np.exp(-0.5 * (y - grid) ** 2 / sigma**2)
        weights = prior_density * likelihood
        expected = np.trapezoid(grid * weights, grid) / np.trapezoid(weights, grid)
        actual = float(np.asarray(prior.denoise(np.array([[y]]), sigma))[0, 0])
        assert abs(actual - expected) < 1e-4


def test_empirical_denoiser_memorises():
    points = np.array([[0.0, 0.0], [1.0, 1.0], [5.0, -1.0]])
    prior = priors.Empirical(points)
    y = points + 0.01
    np.testing.assert_allclose(prior.denoise(y, 0.05), points, atol=1e-8)
    # Large sigma: the mean of the training set.
    np.testing.assert_allclose(
        prior.denoise(y, 1e4), np.tile(points.mean(0), (3, 1)), atol=1e-4
    )


def test_mixture_sampling_statistics_and_seed():
    prior = priors.GaussianMixture([0.25, 0.75], [[-3.0, 0.0], [3.0, 1.0]], [0.5, 0.2])
    first = np.asarray(prior.sample(4000, seed=3))
    np.testing.assert_array_equal(first, np.asarray(prior.sample(4000, seed=3)))
    assert not np.array_equal(first, np.asarray(prior.sample(4000, seed=4)))
    left = first[:, 0] < 0
    assert abs(left.mean() - 0.25) < 0.03
    np.testing.assert_allclose(first[left].mean(0), [-3.0, 0.0], atol=0.1)
    np.testing.assert_allclose(first[~left].var(0), [0.2, 0.2], rtol=0.1)


def test_gaussian_sampling_covariance():
    prior = _gaussian(3)
    samples = np.asarray(prior.sample(20000, seed=0, dtype="float64"))
    cov = prior._eigvecs @ np.diag(prior._eigvals) @ prior._eigvecs.T
    np.testing.assert_allclose(np.cov(samples.T), cov, atol=0.05)


def test_blind_denoiser_narrow_range_is_conditional():
    prior = _mixture(2)
    y = _noisy(prior, 0.4)
    blind = prior.blind_denoiser((0.4, 0.4 + 1e-7))
    np.testing.assert_allclose(blind(y), prior.denoise(y, 0.4), atol=1e-6)


def test_blind_denoiser_against_double_integral():
    """E[x | y] with sigma ~ U(a, b), by brute force over x and sigma grids."""
    prior = priors.GaussianMixture([0.5, 0.5], [[-1.0], [1.5]], [0.1, 0.3])
    low, high = 0.1, 0.8
    blind = prior.blind_denoiser((low, high), num_nodes=48)
    xs = np.linspace(-6, 6, 4001)
    sigmas = np.linspace(low, high, 801)
    p_x = np.exp(np.asarray(prior.log_prob(xs[:, None], 1e-3)))
    for y in (-0.7, 0.4, 2.0):
        like = (
            np.exp(-0.5 * (y - xs[None]) ** 2 / sigmas[:, None] ** 2) / sigmas[:, None]
        )
        joint = p_x[None] * like  # (sigma, x)
        num = np.trapezoid(np.trapezoid(joint * xs[None], xs, axis=1), sigmas)
        den = np.trapezoid(np.trapezoid(joint, xs, axis=1), sigmas)
        actual = float(np.asarray(blind(np.array([[y]])))[0, 0])
        assert abs(actual - num / den) < 1e-3


@pytest.mark.parametrize(
    "build, match",
    [
        (lambda: priors.Gaussian(np.zeros(2), -np.ones(2)), "positive semi-definite"),
        (lambda: priors.Gaussian(np.zeros(2), np.ones(3)), r"shape \(2,\)"),
        (
            lambda: priors.GaussianMixture([0.5, -0.5], [[0.0], [1.0]], 1.0),
            "non-negative",
        ),
        (lambda: priors.GaussianMixture([1.0], [[0.0], [1.0]], 1.0), "means must have"),
        (lambda: priors.Empirical(np.zeros((0, 3))), "n >= 1"),
        (
            lambda: priors.Gaussian(np.zeros(1), 1.0).blind_denoiser((0.5, 0.1)),
            "sigma_range",
        ),
    ],
)
def test_bad_construction(build, match):
    with pytest.raises(ValueError, match=match):
        build()


@pytest.mark.parametrize(
    "call, error, match",
    [
        (
            lambda p: p.denoise(np.zeros((2, 2)), 0.0),
            ValueError,
            "sigma must be positive",
        ),
        (lambda p: p.denoise(np.zeros((2, 2)), -0.1), ValueError, "sigma=-0.1"),
        (lambda p: p.log_prob(np.zeros((2, 2)), np.nan), ValueError, "finite"),
        (lambda p: p.denoise(np.zeros((2, 3)), 0.1), ValueError, "shape"),
        (lambda p: p.denoise(np.zeros((2, 2), "int32"), 0.1), TypeError, "dtype int32"),
        (lambda p: p.denoise(np.zeros((0, 2)), 0.1), ValueError, "empty batch"),
        (lambda p: p.denoise(np.zeros((2, 2)), np.ones((2, 2))), ValueError, "sigma"),
        (lambda p: p.sample(0), ValueError, "num_samples=0"),
    ],
)
def test_bad_calls(call, error, match):
    with pytest.raises(error, match=match):
        call(_mixture(2))


def test_python_float_sigma_keeps_float64_precision():
    prior = priors.Gaussian(np.zeros(1), 1.0)
    denoised = float(np.asarray(prior.denoise(np.array([[1.0]]), 0.3))[0, 0])
    assert abs(denoised - 1.0 / 1.09) < 1e-14
