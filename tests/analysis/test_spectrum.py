"""Exact Jacobians, spectra, adaptive filters, homogeneity and net bias.

Checked on the Wiener filter of a Gaussian prior (J = C (C + sigma^2 I)^-1 in
closed form), on small random networks, and on the reference presets of
Mohan et al. (2020) when `../shared` is present.
"""

from pathlib import Path

import numpy as np
import pytest
import tensorflow as tf

import keras_miyasawa as km
from keras_miyasawa import analysis
from tests import test_case

SIGMA = 0.5  # exact in float32, which the prior casts sigma to
CHECKPOINTS = test_case.SHARED / "reference" / "checkpoints"
SET12 = test_case.SHARED / "data" / "set12"
SIGMAS_255 = (5, 15, 25, 50, 100)
OUR_MODELS = Path(__file__).resolve().parents[2] / "models"


def _gaussian(shape=(12,), seed=0, mean=None):
    dim = int(np.prod(shape))
    a = np.random.default_rng(seed).normal(size=(dim, dim))
    covariance = a @ a.T / dim * 0.2
    mean = np.zeros(shape) if mean is None else mean
    prior = km.priors.Gaussian(mean, covariance)
    eigvals, eigvecs = np.linalg.eigh(covariance)
    shrinkage = eigvals / (eigvals + SIGMA**2)
    # The Wiener filter's Jacobian: J = C (C + sigma^2 I)^-1.
    jacobian = eigvecs @ np.diag(shrinkage) @ eigvecs.T
    return prior, jacobian, np.sort(shrinkage)[::-1]


def test_jacobian_matrix_of_the_wiener_filter():
    prior, jacobian, _ = _gaussian()
    y = np.random.default_rng(1).normal(size=(3, 12))
    exact = np.asarray(analysis.jacobian_matrix(prior, y, sigma=SIGMA))
    assert exact.shape == (3, 12, 12)
    np.testing.assert_allclose(
        exact, np.broadcast_to(jacobian, exact.shape), atol=1e-10
    )
    blind = analysis.jacobian_matrix(lambda y: prior.denoise(y, SIGMA), y)
    np.testing.assert_allclose(blind, exact, atol=1e-12)


def test_jacobian_matrix_of_a_network_matches_its_products():
    model = km.models.DnCNN(depth=3, filters=4)
    y = test_case.random_images((2, 5, 6, 1), seed=2)
    jacobian = np.asarray(analysis.jacobian_matrix(model, y, parallel_iterations=7))
    assert jacobian.shape == (2, 30, 30)
    v = test_case.random_images(y.shape, seed=3)
    _, jv = analysis.jvp(model, y, v)
    _, jtv = analysis.vjp(model, y, v)
    flat_v = v.reshape(2, 30, 1)
    np.testing.assert_allclose(
        np.asarray(jv).reshape(2, 30), (jacobian @ flat_v)[..., 0], atol=1e-5
    )
    np.testing.assert_allclose(
        np.asarray(jtv).reshape(2, 30),
        (jacobian.transpose(0, 2, 1) @ flat_v)[..., 0],
        atol=1e-5,
    )
    # Bias-free and piecewise linear: f(y) = J(y) y.
    np.testing.assert_allclose(
        (jacobian @ y.reshape(2, 30, 1))[..., 0],
        np.asarray(model(y)).reshape(2, 30),
        atol=1e-5,
    )


def test_jacobian_matrix_refuses_large_images():
    with pytest.raises(ValueError, match=r"max_values=100.*shape \(1, 11, 11, 1\)"):
        analysis.jacobian_matrix(lambda y: y, np.zeros((1, 11, 11, 1)), max_values=100)


def test_symmetry_error():
    prior, jacobian, _ = _gaussian()
    assert np.max(analysis.jacobian_symmetry_error(jacobian[None])) < 1e-12
    skew = np.triu(np.ones((4, 4)))
    # ||U - U^T||_F^2 = 2 * 6 off-diagonal ones; ||U||_F^2 = 10.
    np.testing.assert_allclose(
        analysis.jacobian_symmetry_error(skew[None]), [np.sqrt(12 / 10)]
    )
    with pytest.raises(ValueError, match=r"Received: jacobian with shape \(3, 4\)"):
        analysis.jacobian_symmetry_error(np.zeros((3, 4)))


def test_spectrum_and_effective_dimension_of_the_wiener_filter():
    prior, _, shrinkage = _gaussian()
    jacobian = analysis.jacobian_matrix(prior, np.zeros((2, 12)), sigma=SIGMA)
    for kind in ("singular", "eigen"):
        spectrum = analysis.jacobian_spectrum(jacobian, kind=kind)
        np.testing.assert_allclose(spectrum, np.stack([shrinkage] * 2), atol=1e-10)
    np.testing.assert_allclose(
        analysis.effective_dimension(jacobian), [shrinkage.sum()] * 2, rtol=1e-10
    )
    for threshold in (0.1, 0.5, 0.9):
        np.testing.assert_array_equal(
            analysis.effective_dimension(jacobian, threshold=threshold),
            [np.sum(shrinkage > threshold)] * 2,
        )
    with pytest.raises(ValueError, match="kind=.svd."):
        analysis.jacobian_spectrum(jacobian, kind="svd")
    with pytest.raises(ValueError, match="threshold=-1"):
        analysis.effective_dimension(jacobian, threshold=-1)


def test_eigen_spectrum_of_a_non_symmetric_map_is_that_of_its_symmetric_part():
    matrix = np.array([[[2.0, 1.0], [0.0, 1.0]]])
    np.testing.assert_allclose(
        analysis.jacobian_spectrum(matrix, kind="eigen"),
        [np.linalg.eigvalsh([[2.0, 0.5], [0.5, 1.0]])[::-1]],
    )


def test_adaptive_filters_are_rows_of_the_jacobian():
    prior, jacobian, _ = _gaussian(shape=(3, 4, 1))
    y = np.random.default_rng(4).normal(size=(2, 3, 4, 1))
    filters = np.asarray(
        analysis.adaptive_filters(prior, y, [(1, 2), (0, 3, 0)], SIGMA)
    )
    assert filters.shape == (2, 2, 3, 4, 1)
    for k, index in enumerate((1 * 4 + 2, 0 * 4 + 3)):
        np.testing.assert_allclose(filters[:, k].reshape(2, 12), [jacobian[index]] * 2)

    model = km.models.DnCNN(channels=3, depth=3, filters=4)
    y = test_case.random_images((1, 5, 4, 3), seed=5)
    exact = np.asarray(analysis.jacobian_matrix(model, y))[0]
    filters = np.asarray(analysis.adaptive_filters(model, y, [(2, 1, 2)]))
    np.testing.assert_allclose(
        filters[0, 0].ravel(), exact[(2 * 4 + 1) * 3 + 2], atol=1e-6
    )


def test_adaptive_filters_check_pixels():
    y = np.zeros((1, 4, 4, 1), "float32")
    with pytest.raises(ValueError, match=r"Received: pixel \(4, 0\)"):
        analysis.adaptive_filters(lambda y: y, y, [(4, 0)])
    with pytest.raises(ValueError, match="pixels=\\[\\]"):
        analysis.adaptive_filters(lambda y: y, y, [])


def test_homogeneity_error():
    scales = (0.3, 3.0)
    prior, _, _ = _gaussian()
    y = np.random.default_rng(6).normal(size=(2, 12))
    assert np.max(analysis.homogeneity_error(prior, y, scales, sigma=SIGMA)) < 1e-12
    shifted, _, _ = _gaussian(mean=np.ones(12))
    assert np.min(analysis.homogeneity_error(shifted, y, scales, sigma=SIGMA)) > 0.1

    images = test_case.random_images((2, 9, 9, 1))
    bias_free = km.models.DnCNN(depth=4, filters=8)
    biased = km.models.DnCNN(depth=4, filters=8, bias_free=False)
    for layer in biased.layers:  # Biases start at zero: make them count.
        if hasattr(layer, "bias") and layer.bias is not None:
            layer.bias.assign(np.full(layer.bias.shape, 0.1, "float32"))
    errors = analysis.homogeneity_error(bias_free, images, scales)
    assert errors.shape == (2, 2) and np.max(errors) < 1e-5
    assert np.min(analysis.homogeneity_error(biased, images, scales)) > 1e-3
    with pytest.raises(ValueError, match="scales=0"):
        analysis.homogeneity_error(bias_free, images, scales=(0, 1))


def test_net_bias_of_the_wiener_filter():
    mean = np.linspace(-1.0, 1.0, 12)
    prior, jacobian, _ = _gaussian(mean=mean)
    y = np.random.default_rng(7).normal(size=(3, 12))
    out = analysis.net_bias(prior, y, sigma=SIGMA)
    # f(y) = mean + J (y - mean) = J y + (I - J) mean.
    bias = (np.eye(12) - jacobian) @ mean
    np.testing.assert_allclose(out["bias"], [bias] * 3, atol=1e-10)
    np.testing.assert_allclose(out["bias_norm"], [np.linalg.norm(bias)] * 3)
    np.testing.assert_allclose(
        out["linear_norm"], np.linalg.norm(y @ jacobian.T, axis=1), rtol=1e-10
    )
    np.testing.assert_allclose(out["bias_ratio"], out["bias_norm"] / out["linear_norm"])
    centred, _, _ = _gaussian()
    assert np.max(analysis.net_bias(centred, y, sigma=SIGMA)["bias_norm"]) < 1e-12


# --- the reference presets of Mohan et al. (2020) ---------------------------


@pytest.fixture(scope="module")
def presets(tmp_path_factory):
    if not CHECKPOINTS.is_dir():
        pytest.skip(f"reference checkpoints absent: {CHECKPOINTS.resolve()}")
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("KERAS_MIYASAWA_HOME", str(tmp_path_factory.mktemp("home")))
        patch.setenv("KERAS_MIYASAWA_CHECKPOINT_DIR", str(CHECKPOINTS))
        patch.setenv("KERAS_MIYASAWA_MODELS_DIR", str(tmp_path_factory.mktemp("m")))
        yield {
            "bias_free": km.from_preset("mohan2020_dncnn_bias_free_0-55"),
            "biased": km.from_preset("mohan2020_dncnn_bias_0-55"),
        }


def _noisy_set12_crop(size, seed=0):
    """One 05.png crop with noise of each of SIGMAS_255, same noise pattern."""
    path = SET12 / "05.png"
    if not path.is_file():
        pytest.skip(f"Set12 absent: {path.resolve()}")
    image = tf.io.decode_png(tf.io.read_file(str(path))).numpy() / 255.0
    clean = image[100 : 100 + size, 100 : 100 + size][None].astype("float32")
    noise = np.random.default_rng(seed).normal(size=clean.shape)
    sigmas = np.array(SIGMAS_255, "float32")[:, None, None, None] / 255.0
    return (clean + sigmas * noise).astype("float32")


def test_effective_dimension_of_bf_dncnn_falls_as_the_noise_grows(presets):
    y = _noisy_set12_crop(16)
    jacobian = analysis.jacobian_matrix(presets["bias_free"], y)
    trace = np.asarray(analysis.effective_dimension(jacobian))
    count = np.asarray(analysis.effective_dimension(jacobian, threshold=0.5))
    assert np.all(np.diff(trace) < 0), trace
    assert np.all(np.diff(count) < 0), count
    assert trace[0] > 3 * trace[-1]
    # The exact trace is what Hutchinson's probes estimate.
    estimate = analysis.hutchinson_divergence(presets["bias_free"], y, num_probes=4)
    np.testing.assert_allclose(estimate, trace, rtol=0.25)


def test_effective_dimension_of_our_bf_dncnn_preset_falls_as_the_noise_grows():
    # The project's own gray BF-DnCNN, trained here; loaded from its folder since
    # the `presets` fixture may have pointed KERAS_MIYASAWA_MODELS_DIR elsewhere.
    y = _noisy_set12_crop(16)
    model = km.from_preset(OUR_MODELS / "bf_dncnn_gray_0-55")
    jacobian = analysis.jacobian_matrix(model, y)
    trace = np.asarray(analysis.effective_dimension(jacobian))
    count = np.asarray(analysis.effective_dimension(jacobian, threshold=0.5))
    assert np.all(np.diff(trace) < 0), trace
    assert np.all(np.diff(count) < 0), count
    assert trace[0] > 3 * trace[-1]


def test_net_bias_is_zero_for_bf_dncnn_and_not_for_dncnn(presets):
    y = _noisy_set12_crop(40)
    bias_free = np.asarray(analysis.net_bias(presets["bias_free"], y)["bias_ratio"])
    biased = np.asarray(analysis.net_bias(presets["biased"], y)["bias_ratio"])
    assert np.max(bias_free) < 1e-5, bias_free
    assert np.min(biased) > 1e-2, biased
    # Outside the training range (0-55) the net bias grows (Mohan et al., fig. 2).
    assert biased[-1] > 3 * biased[SIGMAS_255.index(25)], biased
