import numpy as np
import pytest

import keras_miyasawa as km

SHAPES = [(8, 8, 1), (12, 16, 3), (7, 9, 2), (40, 40, 1)]


def make_operators(shape):
    """One of each operator (two compressive-sensing constructions)."""
    ops = {
        "inpainting_hole": km.operators.Inpainting(hole=(1, 2, 3, 4)),
        "inpainting_mask": km.operators.Inpainting(
            mask=np.random.default_rng(1).uniform(size=shape[:2]) > 0.3
        ),
        "random_pixels": km.operators.RandomPixels(0.3, seed=1),
        "spectral_low_pass": km.operators.SpectralLowPass(0.1),
        "spectral_low_pass_half": km.operators.SpectralLowPass(0.5),
        "compressive_sensing_dense": km.operators.CompressiveSensing(0.2, seed=0),
        "compressive_sensing_structured": km.operators.CompressiveSensing(
            0.2, seed=0, structured=True
        ),
    }
    if shape[0] % 2 == 0 and shape[1] % 2 == 0:
        ops["super_resolution"] = km.operators.SuperResolution(2)
    if shape[0] % 4 == 0 and shape[1] % 4 == 0:
        ops["super_resolution_4"] = km.operators.SuperResolution(4)
    return ops


@pytest.mark.parametrize("shape", SHAPES, ids=lambda s: "x".join(map(str, s)))
def test_adjoint_identity_and_semi_orthogonality(shape):
    rng = np.random.default_rng(0)
    for name, op in make_operators(shape).items():
        x = rng.normal(size=(3, *shape)).astype("float32")
        mx = np.asarray(op.forward(x))
        assert mx.shape == (3, *op.measurement_shape), name
        assert op.num_measurements < op.num_values, name
        v = rng.normal(size=mx.shape).astype("float32")
        m_v = np.asarray(op.adjoint(v))
        assert m_v.shape == x.shape, name
        # <M v, x> = <v, M^T x>, relative to the sizes of the vectors.
        lhs = np.sum(m_v.astype("float64") * x, axis=(1, 2, 3))
        rhs = np.sum((v.astype("float64") * mx).reshape(3, -1), axis=1)
        scale = np.linalg.norm(m_v.reshape(3, -1), axis=1) * np.linalg.norm(
            x.reshape(3, -1), axis=1
        )
        np.testing.assert_array_less(np.abs(lhs - rhs) / scale, 1e-5, err_msg=name)
        # M^T M = I.
        np.testing.assert_allclose(
            op.forward(op.adjoint(v)), v, atol=1e-5, err_msg=name
        )
        # M M^T is a projection: idempotent.
        p = np.asarray(op.project(x))
        np.testing.assert_allclose(op.project(p), p, atol=1e-5, err_msg=name)


def test_enforce_gives_exact_consistency():
    rng = np.random.default_rng(0)
    for name, op in make_operators((16, 16, 1)).items():
        x = rng.uniform(size=(2, 16, 16, 1)).astype("float32")
        measurement = op.forward(x)
        guess = rng.uniform(size=x.shape).astype("float32")
        fixed = op.enforce(guess, measurement)
        np.testing.assert_allclose(
            op.forward(fixed), measurement, atol=1e-5, err_msg=name
        )
        # Only the measured subspace changed.
        delta = np.asarray(fixed) - guess
        np.testing.assert_allclose(op.project(delta), delta, atol=1e-5, err_msg=name)


def test_inpainting_hole_measures_the_pixels_outside():
    op = km.operators.Inpainting(hole=(2, 3, 4, 5), image_shape=(10, 12, 3))
    assert op.num_measurements == 10 * 12 * 3 - 4 * 5 * 3
    x = np.arange(360, dtype="float32").reshape(1, 10, 12, 3)
    back = np.asarray(op.adjoint(op.forward(x)))
    assert np.all(back[0, 2:6, 3:8] == 0)
    assert np.array_equal(back[0, :2], x[0, :2])
    # The naive baseline fills the hole with the mean of the observed pixels.
    filled = np.asarray(op.mean_fill(op.forward(x)))
    observed_mean = x[0][op.observed_mask].mean()
    np.testing.assert_allclose(filled[0, 2:6, 3:8], observed_mean, rtol=1e-5)


def test_inpainting_2d_mask_applies_to_every_channel():
    mask = np.ones((6, 6))
    mask[1:3, 1:3] = 0
    op = km.operators.Inpainting(mask=mask)
    x = np.ones((1, 6, 6, 3), "float32")
    assert op.forward(x).shape == (1, 32 * 3)
    assert op.image_shape == (6, 6, 3)


def test_random_pixels_keeps_the_fraction_and_depends_on_seed():
    shape = (20, 20, 1)
    a = km.operators.RandomPixels(0.1, seed=3, image_shape=shape)
    b = km.operators.RandomPixels(0.1, seed=3, image_shape=shape)
    c = km.operators.RandomPixels(0.1, seed=4, image_shape=shape)
    assert a.num_measurements == 40
    assert np.array_equal(a.observed_mask, b.observed_mask)
    assert not np.array_equal(a.observed_mask, c.observed_mask)


def test_super_resolution_is_block_averaging():
    op = km.operators.SuperResolution(4)
    x = np.zeros((1, 8, 8, 1), "float32")
    x[0, :4, :4] = 1.0
    low = np.asarray(op.forward(x))[0, :, :, 0]
    # Orthonormal: the block mean times the factor.
    np.testing.assert_allclose(low, [[4.0, 0.0], [0.0, 0.0]])
    up = np.asarray(op.adjoint(op.forward(x)))
    np.testing.assert_allclose(up, x, atol=1e-6)


def test_spectral_low_pass_keeps_low_and_removes_high_frequencies():
    op = km.operators.SpectralLowPass(0.1, image_shape=(32, 32, 1))
    assert abs(op.num_measurements - 0.1 * 32 * 32) <= 1
    i, j = np.meshgrid(np.arange(32), np.arange(32), indexing="ij")
    smooth = (0.5 + 0.3 * np.cos(2 * np.pi * i / 32)).astype("float32")[
        None, :, :, None
    ]
    checker = ((-1.0) ** (i + j)).astype("float32")[None, :, :, None]
    np.testing.assert_allclose(op.project(smooth), smooth, atol=1e-5)
    np.testing.assert_allclose(op.project(checker), 0.0, atol=1e-5)


def test_compressive_sensing_picks_dense_or_structured_by_size():
    small = km.operators.CompressiveSensing(0.1, seed=0, image_shape=(16, 16, 1))
    large = km.operators.CompressiveSensing(0.1, seed=0, image_shape=(256, 256, 1))
    assert not small.is_structured
    assert large.is_structured
    rng = np.random.default_rng(0)
    v = rng.normal(size=(2, large.num_measurements)).astype("float32")
    np.testing.assert_allclose(large.forward(large.adjoint(v)), v, atol=1e-5)


def test_operator_built_lazily_and_checks_shapes():
    op = km.operators.SuperResolution(2)
    with pytest.raises(ValueError, match="needs the image shape"):
        op.adjoint(np.zeros((1, 2, 2, 1), "float32"))
    op.forward(np.zeros((1, 4, 4, 1), "float32"))
    assert op.image_shape == (4, 4, 1)
    with pytest.raises(ValueError, match="built for images of shape"):
        op.forward(np.zeros((1, 8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="v must have shape"):
        op.adjoint(np.zeros((1, 3, 3, 1), "float32"))


@pytest.mark.parametrize(
    "factory, message",
    [
        (lambda: km.operators.Inpainting(), "exactly one of mask and hole"),
        (
            lambda: km.operators.Inpainting(hole=(6, 6, 4, 4), image_shape=(8, 8, 1)),
            "does not fit",
        ),
        (lambda: km.operators.Inpainting(hole=(1, 1, 0, 2)), "hole must be"),
        (
            lambda: km.operators.Inpainting(mask=np.zeros((4, 4, 1))),
            "observes no pixel",
        ),
        (lambda: km.operators.RandomPixels(1.5), "fraction must be in"),
        (lambda: km.operators.SpectralLowPass(0.0), "fraction"),
        (lambda: km.operators.CompressiveSensing(-0.1), "fraction"),
        (lambda: km.operators.SuperResolution(1), "factor"),
        (
            lambda: km.operators.SuperResolution(4, image_shape=(10, 12, 1)),
            "divisible by factor=4",
        ),
        (lambda: km.operators.SuperResolution(2, image_shape=(4, 4)), "image_shape"),
    ],
)
def test_bad_arguments_name_what_was_received(factory, message):
    with pytest.raises(ValueError, match=message):
        factory()
