import matplotlib
import numpy as np
import pytest
from PIL import Image

import keras_miyasawa as km


def _check_png(path, min_bytes=5000):
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > min_bytes
    with Image.open(path) as image:
        pixels = np.asarray(image.convert("L"))
    # Something is drawn: not a blank canvas.
    assert pixels.std() > 5
    assert not [p for p in path.parent.iterdir() if p.name.endswith(".tmp")]


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    clean = np.tile(np.linspace(0, 1, 32, dtype="float32"), (32, 1))[..., None]
    noisy = clean + 0.1 * rng.standard_normal(clean.shape).astype("float32")
    return clean, noisy


def test_image_grid_titles_and_psnr(tmp_path, images):
    clean, noisy = images
    path = tmp_path / "figs" / "grid.png"
    figure = km.plot.image_grid(
        [clean, noisy[None], np.clip(noisy, 0, 1)],
        ["clean", "noisy", "clipped"],
        reference=clean,
        columns=2,
        path=path,
    )
    _check_png(path)
    titles = [axes.get_title() for axes in figure.axes]
    assert titles[0] == "clean"  # no PSNR against itself
    expected = 10 * np.log10(1 / np.mean((np.clip(noisy, 0, 1) - clean) ** 2))
    assert titles[1] == f"noisy\n{expected:.2f} dB"
    with pytest.raises(ValueError, match="3 titles"):
        km.plot.image_grid([clean, noisy], ["a", "b", "c"])
    with pytest.raises(ValueError, match="images is empty"):
        km.plot.image_grid([])
    rgb = np.repeat(clean, 3, axis=-1)
    assert len(km.plot.image_grid(np.stack([rgb, rgb])).axes) == 2


def test_score_field_of_a_denoiser(tmp_path, images):
    clean, noisy = images
    path = tmp_path / "score.png"
    model = km.models.DnCNN(depth=3, filters=4)
    denoised = np.asarray(model(noisy[None]))[0]
    figure = km.plot.score_field(noisy, denoised, sigma=0.1, path=path, title="t")
    _check_png(path)
    # The third panel shows (x_hat - y) / sigma^2 with a colour bar.
    field = figure.axes[2].get_images()[0].get_array()
    np.testing.assert_allclose(field, (denoised - noisy)[..., 0] / 0.01, rtol=1e-4)
    assert len(figure.axes) == 4
    residual = km.plot.score_field(noisy, denoised)
    assert residual.axes[2].get_title() == "residual x_hat - y"
    with pytest.raises(ValueError, match="same shape"):
        km.plot.score_field(noisy, denoised[:5])


def test_psnr_vs_sigma_bias_vs_bias_free(tmp_path):
    sigmas = np.array([5, 25, 55, 75, 100]) / 255
    path = tmp_path / "curve.png"
    figure = km.plot.psnr_vs_sigma(
        {
            "bias-free": (sigmas, [38, 31, 27, 25, 23]),
            "biased": (sigmas, [38, 31, 27, 19, 12]),
        },
        input_psnr=(sigmas, 20 * np.log10(1 / sigmas)),
        training_range=(0, 55 / 255),
        path=path,
    )
    _check_png(path)
    lines = figure.axes[0].get_lines()
    assert [line.get_label() for line in lines] == ["bias-free", "biased", "noisy"]
    np.testing.assert_allclose(lines[0].get_xdata(), [5, 25, 55, 75, 100])
    with pytest.raises(ValueError, match="one PSNR per sigma"):
        km.plot.psnr_vs_sigma({"x": ([0.1, 0.2], [30])})


def test_noise_level_sweep_draws_with_plot_module(tmp_path):
    images = np.random.default_rng(1).uniform(size=(2, 16, 16, 1)).astype("float32")
    sweep = km.callbacks.NoiseLevelSweep(images, sigmas=[10 / 255, 50 / 255])
    sweep.evaluate(lambda y: 0.5 + 0.0 * y)
    figure = sweep.plot(tmp_path / "sweep.png", title="sweep")
    _check_png(tmp_path / "sweep.png")
    assert figure.axes[0].get_title() == "sweep"
    assert [line.get_label() for line in figure.axes[0].get_lines()] == [
        "denoised",
        "noisy",
    ]


def test_sigma_trajectory_and_score_vector_field(tmp_path):
    path = tmp_path / "sigma.png"
    sigmas = np.geomspace(0.8, 0.01, 40)
    km.plot.sigma_trajectory(
        np.stack([sigmas, sigmas * 1.2], 1), path=path, target=0.01
    )
    _check_png(path, min_bytes=3000)
    figure = km.plot.sigma_trajectory({"a": sigmas, "b": sigmas[:20]})
    assert [len(line.get_xdata()) for line in figure.axes[0].get_lines()] == [40, 20]

    path = tmp_path / "field.png"
    prior = km.priors.Gaussian(np.zeros(2), 1.0)
    trajectory = np.cumsum(np.full((10, 3, 2), 0.1), axis=0)
    figure = km.plot.score_vector_field(
        lambda p: km.score(prior, p, 0.5), trajectories=trajectory, grid=9, path=path
    )
    _check_png(path, min_bytes=3000)
    assert len(figure.axes[0].get_lines()) == 6  # a path and an end point each


def test_global_backend_untouched_and_svg(tmp_path):
    backend = matplotlib.get_backend()
    figure = km.plot.sigma_trajectory([0.5, 0.2, 0.1])
    km.plot.save_figure(figure, tmp_path / "s.svg")
    assert (tmp_path / "s.svg").read_text().lstrip().startswith("<?xml")
    assert matplotlib.get_backend() == backend
