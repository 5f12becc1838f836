from pathlib import Path

import numpy as np
import pytest
from PIL import Image

import keras_miyasawa as km


@pytest.fixture
def model():
    return km.models.DnCNN(depth=3, filters=8)


@pytest.fixture
def folder(tmp_path):
    """Five gray images of two sizes: PNG, 16-bit TIFF and float .npy."""
    rng = np.random.default_rng(0)
    root = tmp_path / "in"
    root.mkdir()
    for i in range(3):
        Image.fromarray(np.uint8(rng.uniform(size=(12, 16)) * 255)).save(
            root / f"a{i}.png"
        )
    Image.fromarray(np.uint16(rng.uniform(size=(10, 10)) * 65535)).save(root / "b.tif")
    np.save(root / "c.npy", rng.uniform(size=(10, 10, 1)).astype("float32"))
    (root / "notes.txt").write_text("not an image")
    return root


def test_round_trip_matches_denoise_images(model, folder, tmp_path):
    out = tmp_path / "out"
    progress = []
    rows = km.inference.denoise_folder(
        model,
        folder,
        out,
        batch_size=2,
        suffix=".npy",
        progress=lambda done, total: progress.append((done, total)),
    )
    names = ["a0", "a1", "a2", "b", "c"]
    assert [row["output"] for row in rows] == [str(out / f"{n}.npy") for n in names]
    assert progress[-1] == (5, 5) and len(progress) == 3  # 2 + 1 + 2 images
    inputs = [km.image_io.read_image(row["input"]) for row in rows]
    expected = km.inference.denoise_images(model, inputs)
    for row, image, x_hat in zip(rows, inputs, expected):
        assert row["shape"] == list(image.shape)
        np.testing.assert_allclose(np.load(row["output"]), x_hat, atol=1e-6)
        residual = x_hat.astype("float64") - image
        assert row["sigma_hat"] == pytest.approx(np.sqrt(np.mean(residual**2)))
    assert sorted(p.name for p in out.iterdir()) == [f"{n}.npy" for n in names]


def test_default_suffix_and_seeded_noise(model, folder, tmp_path):
    first = km.inference.denoise_folder(
        model, folder, tmp_path / "one", add_noise=25 / 255, seed=3, batch_size=3
    )
    second = km.inference.denoise_folder(
        model, folder, tmp_path / "two", add_noise=25 / 255, seed=3, batch_size=1
    )
    assert [Path(r["output"]).name for r in first] == [
        "a0.png", "a1.png", "a2.png", "b.tif", "c.npy",
    ]  # fmt: skip
    for a, b in zip(first, second):
        # Image i gets the noise of seed (seed, i), whatever the batching.
        assert a["noisy_psnr"] == pytest.approx(b["noisy_psnr"], abs=1e-9)
        assert 18 < a["noisy_psnr"] < 23  # sigma 25/255: about 20 dB
        assert np.isfinite(a["psnr"])
    other = km.inference.denoise_folder(
        model, folder, tmp_path / "three", add_noise=25 / 255, seed=4
    )
    assert other[0]["noisy_psnr"] != first[0]["noisy_psnr"]
    with Image.open(tmp_path / "one" / "a0.png") as image:
        assert image.mode == "L" and image.size == (16, 12)


def test_never_overwrites(model, folder, tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    (out / "b.tif").write_bytes(b"keep me")
    with pytest.raises(FileExistsError, match="1 output file.*b.tif.*overwrite"):
        km.inference.denoise_folder(model, folder, out)
    # Checked before any work: nothing else was written.
    assert [p.name for p in out.iterdir()] == ["b.tif"]
    assert (out / "b.tif").read_bytes() == b"keep me"
    km.inference.denoise_folder(model, folder, out, overwrite=True)
    assert (out / "b.tif").read_bytes() != b"keep me"
    assert len(list(out.iterdir())) == 5  # no temporary files left
    with pytest.raises(ValueError, match="output_dir must differ"):
        km.inference.denoise_folder(model, folder, folder, overwrite=True)


def test_errors_name_the_problem(model, folder, tmp_path):
    with pytest.raises(FileNotFoundError, match="No such folder"):
        km.inference.denoise_folder(model, tmp_path / "missing", tmp_path / "o1")
    empty = tmp_path / "empty"
    empty.mkdir()
    (empty / "readme.txt").write_text("no images here")
    with pytest.raises(ValueError, match="holds no png/jpg"):
        km.inference.denoise_folder(model, empty, tmp_path / "o2")
    (folder / "broken.png").write_text("not a png")
    with pytest.raises(ValueError, match="broken.png' is not a readable image"):
        km.inference.denoise_folder(model, folder, tmp_path / "o3")
    assert not (tmp_path / "o3").exists()  # found before any work
    (folder / "broken.png").unlink()
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(folder / "colour.png")
    with pytest.raises(ValueError, match="colour.png' has 3 channel"):
        km.inference.denoise_folder(model, folder, tmp_path / "o4")
    assert not (tmp_path / "o4").exists()  # not when its batch comes up
    with pytest.raises(ValueError, match="add_noise must be positive"):
        km.inference.denoise_folder(model, folder, tmp_path / "o5", add_noise=-1)
    with pytest.raises(ValueError, match="suffix must be one of"):
        km.inference.denoise_folder(model, folder, tmp_path / "o6", suffix=".bmp")


def test_image_folder_dataset_groups_sizes(folder):
    dataset, paths = km.data.image_folder_dataset(folder, batch_size=2, channels=1)
    assert [p.name for p in paths] == ["a0.png", "a1.png", "a2.png", "b.tif", "c.npy"]
    batches = [(index.numpy().tolist(), images.shape) for index, images in dataset]
    seen = sorted(i for index, _ in batches for i in index)
    assert seen == [0, 1, 2, 3, 4]
    for index, shape in batches:
        assert shape[0] == len(index) <= 2
        expected = (12, 16) if index[0] < 3 else (10, 10)
        assert tuple(shape[1:]) == expected + (1,)


def test_image_channels_reads_only_the_header_and_agrees_with_read_image(tmp_path):
    gray = np.arange(48, dtype=np.uint8).reshape(6, 8)
    files = {
        "gray.png": Image.fromarray(gray),
        "rgb.jpg": Image.fromarray(np.stack([gray] * 3, -1)),
        "palette.png": Image.fromarray(np.stack([gray] * 3, -1)).convert("P"),
        "deep.tif": Image.fromarray(gray.astype(np.uint16) * 1000),
        "rgba.png": Image.fromarray(np.zeros((6, 8, 4), np.uint8)),
    }
    for name, image in files.items():
        image.save(tmp_path / name)
    np.save(tmp_path / "plane.npy", gray.astype(np.float32))
    np.save(tmp_path / "rgb.npy", np.zeros((6, 8, 3), np.float32))
    expected = {"gray.png": 1, "rgb.jpg": 3, "palette.png": 3, "deep.tif": 1}
    expected.update({"rgba.png": 4, "plane.npy": 1, "rgb.npy": 3})
    for name, channels in expected.items():
        assert km.image_io.image_channels(tmp_path / name) == channels, name
        if channels != 4:
            assert km.image_io.read_image(tmp_path / name).shape[-1] == channels
    (tmp_path / "broken.png").write_text("not a png")
    with pytest.raises(ValueError, match="file='.*broken.png' is not a readable"):
        km.image_io.image_channels(tmp_path / "broken.png", name="file")
