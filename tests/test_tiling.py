import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa.tiling import denoise_tiled
from keras_miyasawa.tiling import receptive_field_radius


def _images(shape, seed=0):
    return np.random.default_rng(seed).uniform(size=shape).astype("float32")


@pytest.fixture(scope="module")
def dncnn():
    return km.models.DnCNN(depth=5, filters=8)


def test_tiled_equals_whole_image(dncnn):
    y = _images((2, 61, 90, 1))
    radius = receptive_field_radius(dncnn)
    assert radius == 5
    whole = np.asarray(dncnn(y, training=False))
    progress = []
    tiled = denoise_tiled(
        dncnn,
        y,
        tile=2 * radius + 14,
        overlap=radius,
        batch_size=3,
        progress=lambda done, total: progress.append((done, total)),
    )
    assert tiled.shape == y.shape and tiled.dtype == np.float32
    np.testing.assert_allclose(tiled, whole, atol=1e-4)
    # 61 x 90 in cores of 14: 5 x 7 windows per image, in batches of <= 3.
    assert progress[-1] == (70, 70)
    assert all(b - a <= 3 for (a, _), (b, _) in zip([(0, 0)] + progress, progress))


def test_single_image_and_image_smaller_than_tile(dncnn):
    y = _images((37, 20, 1), seed=1)
    whole = np.asarray(dncnn(y[None], training=False))[0]
    np.testing.assert_allclose(
        denoise_tiled(dncnn, y, tile=16, overlap=5), whole, atol=1e-4
    )
    np.testing.assert_allclose(denoise_tiled(dncnn, y, tile=256), whole, atol=1e-4)


def test_too_little_overlap_changes_the_result(dncnn):
    # The overlap is what makes the tiles agree: without it the seams differ.
    y = _images((1, 48, 48, 1), seed=2)
    whole = np.asarray(dncnn(y, training=False))
    tiled = denoise_tiled(dncnn, y, tile=16, overlap=0)
    assert np.abs(tiled - whole).max() > 1e-3


def test_unet_windows_follow_its_downsampling_grid():
    model = km.models.UNet(filters=4, levels=2)
    radius = receptive_field_radius(model)
    y = _images((1, 75, 66, 1), seed=3)
    whole = np.asarray(model(y, training=False))
    # An overlap that is no multiple of 4 is rounded up to one.
    tiled = denoise_tiled(model, y, tile=2 * radius + 24, overlap=radius - 1)
    np.testing.assert_allclose(tiled, whole, atol=1e-4)


def test_receptive_field_radius_bounds_the_influence_of_a_pixel():
    for model in (km.models.DnCNN(depth=4, filters=4), km.models.UNet(filters=4)):
        y = _images((1, 80, 80, 1), seed=4)
        moved = y.copy()
        moved[0, 40, 40, 0] += 1.0
        change = np.abs(np.asarray(model(moved)) - np.asarray(model(y)))[0, ..., 0]
        rows, cols = np.nonzero(change > 0)
        reach = max(np.abs(rows - 40).max(), np.abs(cols - 40).max())
        assert 0 < reach <= receptive_field_radius(model)
    assert receptive_field_radius(lambda y: y) is None


def test_callables_and_conditional_denoisers():
    y = _images((30, 30, 1))
    np.testing.assert_array_equal(
        denoise_tiled(lambda v: 2 * v, y, tile=12, overlap=2), 2 * y
    )
    prior = km.priors.Gaussian(np.zeros((8, 8, 1)), 1.0)
    with pytest.raises(ValueError, match="sigma=None"):
        denoise_tiled(prior, y, tile=12, overlap=2)


def test_bad_arguments_name_the_argument(dncnn):
    y = _images((16, 16, 1))
    with pytest.raises(ValueError, match="tile=16, overlap=8"):
        denoise_tiled(dncnn, y, tile=16, overlap=8)
    with pytest.raises(ValueError, match="overlap=-1"):
        denoise_tiled(dncnn, y, overlap=-1)
    with pytest.raises(ValueError, match="batch_size=0"):
        denoise_tiled(dncnn, y, batch_size=0)
    with pytest.raises(TypeError, match="dtype uint8"):
        denoise_tiled(dncnn, np.zeros((8, 8, 1), "uint8"))
    with pytest.raises(ValueError, match=r"shape \(8, 8\)"):
        denoise_tiled(dncnn, np.zeros((8, 8), "float32"))
