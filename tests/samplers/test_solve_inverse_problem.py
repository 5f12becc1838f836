import numpy as np
import pytest
from PIL import Image

import keras_miyasawa as km
from keras_miyasawa.samplers import _common
from tests.test_case import SHARED

SHAPE = (8, 8, 1)


def smooth_prior():
    """A Gaussian prior on 8x8 images with a smooth (fast-decaying) covariance."""
    i, j = np.meshgrid(np.arange(8), np.arange(8), indexing="ij")
    pixels = np.stack([i.ravel(), j.ravel()], axis=1)
    sq_dist = np.sum((pixels[:, None] - pixels[None]) ** 2, axis=-1)
    covariance = 0.05 * np.exp(-sq_dist / 8.0) + 1e-6 * np.eye(64)
    return km.priors.Gaussian(np.full(SHAPE, 0.5), covariance)


def operators():
    return {
        "inpainting": km.operators.Inpainting(hole=(2, 2, 4, 4), image_shape=SHAPE),
        "random_pixels": km.operators.RandomPixels(0.3, seed=0, image_shape=SHAPE),
        "super_resolution": km.operators.SuperResolution(2, image_shape=SHAPE),
        "spectral_low_pass": km.operators.SpectralLowPass(0.25, image_shape=SHAPE),
        "compressive_sensing": km.operators.CompressiveSensing(
            0.25, seed=0, image_shape=SHAPE
        ),
    }


def test_parity_with_reference_inpainting(reference_denoiser, parity_runs):
    """Algorithm 2 with beta = 1 from the reference start retraces its run.

    The reference output is f(y_T) in full (the measured values denoised
    too), which is `denoise_measured=True`; the default keeps the measured
    component of y_T.
    """
    operator = km.operators.Inpainting(mask=parity_runs["inpaint_mask"][0])
    measurement = operator.forward(parity_runs["inpaint_clean"])
    result = km.samplers.solve_inverse_problem(
        reference_denoiser,
        operator,
        measurement,
        init=parity_runs["inpaint_y0"],
        h0=0.01,
        beta=1.0,
        sigma_L=0.01,
        seed=0,
        denoise_measured=True,
    )
    expected = parity_runs["inpaint_sigmas"]
    assert int(result.num_steps[0]) == len(expected)
    np.testing.assert_allclose(result.sigmas[0], expected, atol=1e-3)
    error = np.abs(np.asarray(result.samples) - parity_runs["inpaint_output"])
    assert error.max() <= 1e-3


def consistency(operator, estimate, measurement):
    """The largest ||M^T x - x_c|| / sqrt(m) over the batch."""
    residual = np.asarray(operator.forward(estimate)) - np.asarray(measurement)
    return np.sqrt(np.mean(residual.reshape(len(residual), -1) ** 2, axis=1)).max()


@pytest.mark.parametrize(
    "name",
    [*operators(), "random_pixels_10", "compressive_sensing_10"],
)
def test_default_solutions_are_consistent_and_beat_the_naive_baseline(name):
    """||M^T x - x_c|| / sqrt(m) <= 2 sigma_L by default, exact with project=True.

    Also with 10% of the values measured, where the bound by construction
    (sigma_L sqrt(N / m), about 3.2 sigma_L) is looser than the target.
    """
    prior = smooth_prior()
    blind = prior.blind_denoiser((0.0, 1.5), num_nodes=8)
    x = np.asarray(prior.sample(4, seed=0))
    sigma_L = 0.01
    operator = {
        **operators(),
        "random_pixels_10": km.operators.RandomPixels(0.1, seed=0, image_shape=SHAPE),
        "compressive_sensing_10": km.operators.CompressiveSensing(
            0.1, seed=0, image_shape=SHAPE
        ),
    }[name]
    measurement = operator.forward(x)
    kwargs = dict(h0=0.05, beta=0.2, sigma_L=sigma_L, seed=0)
    result = km.samplers.solve_inverse_problem(blind, operator, measurement, **kwargs)
    assert result.converged.all()
    assert consistency(operator, result.samples, measurement) <= 2 * sigma_L

    # The default final step denoises the unmeasured subspace of the last
    # iterate y_T (same seed, same chain) and keeps its measured component;
    # denoise_measured=True returns f(y_T) in full, as the reference code.
    last = km.samplers.solve_inverse_problem(
        blind, operator, measurement, final_denoise=False, **kwargs
    )
    y, f_y = np.asarray(last.samples), np.asarray(blind(last.samples))
    expected = f_y - operator.project(f_y) + operator.project(y)
    np.testing.assert_allclose(result.samples, expected, atol=1e-5)
    np.testing.assert_allclose(
        consistency(operator, result.samples, measurement),
        consistency(operator, y, measurement),
        rtol=1e-3,
        atol=1e-6,
    )
    full = km.samplers.solve_inverse_problem(
        blind, operator, measurement, denoise_measured=True, **kwargs
    )
    np.testing.assert_allclose(full.samples, f_y, atol=1e-5)

    if name not in ("random_pixels_10", "compressive_sensing_10"):
        # With 6 of 64 values measured, one posterior sample is no better than
        # the mean fill (in squared error, a sample costs twice the posterior
        # variance); the Set12 test below checks the 10% operators for that.
        naive = np.asarray(operator.mean_fill(measurement))
        sample_error = np.mean((np.asarray(result.samples) - x) ** 2)
        assert sample_error < 0.6 * np.mean((naive - x) ** 2)

    # The optional final projection makes it exactly consistent.
    projected = km.samplers.solve_inverse_problem(
        blind, operator, measurement, project=True, **kwargs
    )
    np.testing.assert_allclose(
        projected.samples, operator.enforce(result.samples, measurement), atol=1e-5
    )
    np.testing.assert_allclose(
        operator.forward(projected.samples), measurement, atol=1e-5
    )


@pytest.mark.parametrize(
    "operator",
    [
        km.operators.RandomPixels(0.1, seed=0, image_shape=(40, 40, 1)),
        km.operators.CompressiveSensing(0.1, seed=0, image_shape=(40, 40, 1)),
    ],
    ids=["random_pixels_10", "compressive_sensing_10"],
)
def test_set12_crop_beats_naive_baseline(reference_denoiser, operator):
    """Real image, 10% of the measurements: a clear PSNR margin over mean-fill.

    The full table (five operators, four crops, RED) is printed by
    `benchmarks/inverse_problems.py`.
    """
    path = SHARED / "data" / "set12" / "07.png"
    if not path.is_file():
        pytest.skip(f"needs ../shared (Set12 image {path})")
    image = np.asarray(Image.open(path).convert("L"), dtype="float32") / 255.0
    x = image[108:148, 108:148, None][None]
    measurement = operator.forward(x)
    result = km.samplers.solve_inverse_problem(
        reference_denoiser, operator, measurement, beta=0.1, seed=0
    )

    def psnr(estimate):
        mse = np.mean((np.clip(np.asarray(estimate), 0.0, 1.0) - x) ** 2)
        return 10 * np.log10(1.0 / mse)

    assert psnr(result.samples) > psnr(operator.mean_fill(measurement)) + 3.0


@pytest.mark.filterwarnings(
    "ignore:solve_inverse_problem.*did not reach:RuntimeWarning"
)
def test_one_trace_per_denoiser_and_operator():
    prior = smooth_prior()
    blind = prior.blind_denoiser((0.0, 1.5), num_nodes=4)
    operator = km.operators.SuperResolution(2, image_shape=SHAPE)
    x = np.asarray(prior.sample(2, seed=0))
    before = _common.TRACE_COUNTS["solve_inverse_problem"]
    a = km.samplers.solve_inverse_problem(
        blind, operator, operator.forward(x), seed=1, max_steps=20, h0=0.1
    )
    b = km.samplers.solve_inverse_problem(
        blind, operator, operator.forward(x), seed=1, max_steps=20, h0=0.1
    )
    km.samplers.solve_inverse_problem(
        blind,
        operator,
        operator.forward(x[::-1]),
        seed=2,
        max_steps=10,
        h0=0.2,
        beta=0.7,
        sigma_0=2.0,
        sigma_L=0.02,
        init_mean=0.3,
    )
    assert _common.TRACE_COUNTS["solve_inverse_problem"] - before == 1
    np.testing.assert_array_equal(a.samples, b.samples)
    # Another operator is another graph.
    other = km.operators.SuperResolution(2, image_shape=SHAPE)
    km.samplers.solve_inverse_problem(blind, other, other.forward(x), max_steps=2)
    assert _common.TRACE_COUNTS["solve_inverse_problem"] - before == 2


def test_bad_arguments():
    prior = smooth_prior()
    blind = prior.blind_denoiser((0.0, 1.5), num_nodes=4)
    operator = km.operators.SuperResolution(2, image_shape=SHAPE)
    measurement = operator.forward(np.asarray(prior.sample(1, seed=0)))
    with pytest.raises(TypeError, match="blind_denoiser"):
        km.samplers.solve_inverse_problem(prior, operator, measurement)
    with pytest.raises(TypeError, match="operator must be"):
        km.samplers.solve_inverse_problem(blind, lambda x: x, measurement)
    with pytest.raises(ValueError, match="is not built"):
        km.samplers.solve_inverse_problem(
            blind, km.operators.SuperResolution(2), measurement
        )
    with pytest.raises(ValueError, match="measurement must have shape"):
        km.samplers.solve_inverse_problem(blind, operator, np.zeros((1, 3, 3, 1)))
    with pytest.raises(ValueError, match="init must have shape"):
        km.samplers.solve_inverse_problem(
            blind, operator, measurement, init=np.zeros((2, 8, 8, 1))
        )
