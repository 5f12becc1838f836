import numpy as np
import pytest
import tensorflow as tf
from PIL import Image

from keras_miyasawa.data import denoising_dataset
from tests.test_case import SHARED


def _images(n=6, h=24, w=28, c=1, seed=0):
    rng = np.random.default_rng(seed)
    return (rng.uniform(size=(n, h, w, c)) * 255).astype("uint8")


def _batches(dataset, count):
    return [(n.numpy(), c.numpy()) for n, c in dataset.take(count)]


def _png_folder(tmp_path, images, mode=None):
    for i, image in enumerate(images):
        array = image[..., 0] if image.shape[-1] == 1 else image
        Image.fromarray(array, mode).save(tmp_path / f"im{i:02d}.png")
    return tmp_path


def test_shapes_ranges_and_noise_levels():
    dataset = denoising_dataset(
        _images(), patch_size=16, sigma_range=(0.1, 0.3), batch_size=64, seed=1
    )
    noisy, clean = _batches(dataset, 1)[0]
    assert noisy.shape == clean.shape == (64, 16, 16, 1)
    assert noisy.dtype == clean.dtype == np.float32
    assert clean.min() >= 0.0 and clean.max() <= 1.0
    sigma = (noisy - clean).reshape(64, -1).std(axis=1)
    # Per-example sigma, uniform in [0.1, 0.3]: spread over the whole range.
    assert 0.09 < sigma.min() < 0.14 and 0.26 < sigma.max() < 0.31
    assert abs(sigma.mean() - 0.2) < 0.02


def test_sigma_distribution_is_uniform():
    dataset = denoising_dataset(
        _images(h=16, w=16), patch_size=16, sigma_range=(0, 0.2), batch_size=256
    )
    noisy, clean = _batches(dataset, 1)[0]
    sigma = (noisy - clean).reshape(256, -1).std(axis=1)
    counts, _ = np.histogram(sigma, bins=4, range=(0, 0.2))
    assert counts.min() > 40, counts  # 64 expected per bin


def test_deterministic_for_a_seed_and_resumable():
    kwargs = dict(patch_size=12, batch_size=5, seed=7, patches_per_image=2)
    first = _batches(denoising_dataset(_images(), **kwargs), 4)
    again = _batches(denoising_dataset(_images(), **kwargs), 4)
    other = _batches(denoising_dataset(_images(), **{**kwargs, "seed": 8}), 1)
    resumed = _batches(denoising_dataset(_images(), start_step=3, **kwargs), 1)
    for (n1, c1), (n2, c2) in zip(first, again):
        np.testing.assert_array_equal(n1, n2)
        np.testing.assert_array_equal(c1, c2)
    assert not np.array_equal(first[0][1], other[0][1])
    np.testing.assert_array_equal(resumed[0][0], first[3][0])


def test_augmentation_uses_the_dihedral_group():
    # A 16x16 image cropped to 16x16: only flips and rotations change it.
    image = np.arange(256, dtype="float32").reshape(1, 16, 16, 1) / 255
    dataset = denoising_dataset(
        image, patch_size=16, sigma_range=(0, 0), batch_size=64, seed=0
    )
    _, clean = _batches(dataset, 1)[0]
    variants = {clean[i].tobytes() for i in range(64)}
    assert len(variants) == 8
    plain = denoising_dataset(image, 16, (0, 0), batch_size=4, seed=0, augment=False)
    np.testing.assert_array_equal(_batches(plain, 1)[0][1][0], image[0])


def test_one_pass_visits_every_image_once():
    images = np.arange(5, dtype="float32").reshape(5, 1, 1, 1) * np.ones((1, 8, 8, 1))
    dataset = denoising_dataset(
        images / 10, 8, (0, 0), batch_size=2, seed=3, repeat=False, augment=False
    )
    assert len(list(dataset)) == 3  # The last batch, of 1, is kept.
    seen = sorted(
        round(float(v) * 10) for _, b in dataset for v in b[:, 0, 0, 0].numpy()
    )
    assert seen == [0, 1, 2, 3, 4]


def test_folder_source_with_color_conversion(tmp_path):
    folder = _png_folder(tmp_path, _images(n=3, c=3, seed=2), "RGB")
    (folder / "notes.txt").write_text("not an image")
    gray = denoising_dataset(folder, 16, (0, 0), 4, seed=0, color_mode="grayscale")
    rgb = denoising_dataset(str(folder), 16, (0, 0), 4, seed=0)
    assert _batches(gray, 1)[0][1].shape == (4, 16, 16, 1)
    assert _batches(rgb, 1)[0][1].shape == (4, 16, 16, 3)


def test_folder_errors(tmp_path):
    with pytest.raises(ValueError, match="holds no"):
        denoising_dataset(tmp_path, 16, (0, 0.1), 4, seed=0)
    _png_folder(tmp_path, _images(n=2, h=20, w=20))
    (tmp_path / "broken.png").write_bytes(b"not a png")
    with pytest.raises(ValueError, match="broken.png"):
        denoising_dataset(tmp_path, 16, (0, 0.1), 4, seed=0)
    (tmp_path / "broken.png").unlink()
    with pytest.raises(ValueError, match=r"im00.png.*smaller than the patch"):
        denoising_dataset(tmp_path, 32, (0, 0.1), 4, seed=0)
    Image.fromarray(_images(n=1, c=3)[0], "RGB").save(tmp_path / "colour.png")
    with pytest.raises(ValueError, match="mixes grayscale and colour"):
        denoising_dataset(tmp_path, 16, (0, 0.1), 4, seed=0)


@pytest.mark.parametrize(
    "sigma_range, message",
    [
        ((0, 55), r"sigma_max must be <= 1. Received: sigma_range=\(0, 55\)"),
        ((0.2, 0.1), r"Received: sigma_range=\(0.2, 0.1\)"),
        ((-0.1, 0.1), r"Received: sigma_range=\(-0.1, 0.1\)"),
        (0.1, r"must be a pair"),
    ],
)
def test_bad_sigma_range(sigma_range, message):
    with pytest.raises(ValueError, match=message):
        denoising_dataset(_images(), 16, sigma_range, 4, seed=0)


def test_array_errors():
    with pytest.raises(ValueError, match="smaller than the patch"):
        denoising_dataset(_images(h=10), 16, (0, 0.1), 4, seed=0)
    with pytest.raises(ValueError, match="int32"):
        denoising_dataset(_images().astype("int32"), 16, (0, 0.1), 4, seed=0)
    with pytest.raises(ValueError, match="color_mode"):
        denoising_dataset(_images(), 16, (0, 0.1), 4, seed=0, color_mode="RGB")


def test_tf_data_source_and_small_images():
    images = tf.data.Dataset.from_tensor_slices({"image": _images(c=3)})
    dataset = denoising_dataset(
        images, 16, (0, 0.1), 4, seed=0, color_mode="grayscale", shuffle_buffer=4
    )
    assert _batches(dataset, 1)[0][0].shape == (4, 16, 16, 1)
    small = tf.data.Dataset.from_tensor_slices(_images(h=8))
    with pytest.raises(tf.errors.InvalidArgumentError, match="smaller than the patch"):
        _batches(denoising_dataset(small, 16, (0, 0.1), 4, seed=0), 1)


def test_tfds_source_offline_with_mock_data(tmp_path):
    tfds = pytest.importorskip("tensorflow_datasets")
    with tfds.testing.mock_data(num_examples=6):
        dataset = denoising_dataset(
            "mnist", 16, (0, 0.1), 4, seed=0, data_dir=str(tmp_path)
        )
        noisy, clean = _batches(dataset, 1)[0]
    assert noisy.shape == clean.shape == (4, 16, 16, 1)
    assert 0.0 <= clean.min() and clean.max() <= 1.0


def test_unknown_tfds_name_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="neither an existing folder nor"):
        denoising_dataset(
            "no_such_dataset_xyz", 16, (0, 0.1), 4, seed=0, data_dir=str(tmp_path)
        )


def test_shared_train400_folder():
    folder = SHARED / "data" / "train400"
    if not folder.is_dir():
        pytest.skip(f"../shared is absent: no {folder}")
    dataset = denoising_dataset(folder, 40, (0, 55 / 255), 8, seed=0)
    noisy, clean = _batches(dataset, 1)[0]
    assert noisy.shape == (8, 40, 40, 1)
