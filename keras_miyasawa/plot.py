"""Figures of denoisers, scores and samplers (matplotlib, Agg canvas).

Every function returns a `matplotlib.figure.Figure` drawn on its own Agg
canvas (no display, and the global backend is never changed) and, given
`path`, saves it with `save_figure` (temporary file + rename). Images are
float NHWC or HWC in [0, 1]; noise levels are in [0, 1] units and drawn in
0-255 units, as papers state them.
"""

from pathlib import Path

import numpy as np

from keras_miyasawa import image_io
from keras_miyasawa.metrics import image_psnr


def _figure(figsize):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=figsize)
    FigureCanvasAgg(figure)
    return figure


def save_figure(figure, path, dpi=None):
    """Saves a figure atomically: to a temporary file, then renamed to `path`.

    Creates the parent folders. The format follows the suffix of `path`.

    Args:
        figure: a `matplotlib.figure.Figure`.
        path: the file to write (`.png`, `.pdf`, `.svg`, ...).
        dpi: optional resolution. Defaults to the figure's.

    Returns:
        `path` as a `pathlib.Path`.

    Example:

    >>> import tempfile
    >>> import keras_miyasawa as km
    >>> figure = km.plot.sigma_trajectory([0.5, 0.3, 0.2, 0.1])
    >>> km.plot.save_figure(figure, tempfile.mkdtemp() + "/s.png").stat().st_size > 0
    True
    """
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    if not isinstance(figure.canvas, FigureCanvasAgg):
        FigureCanvasAgg(figure)
    fmt = path.suffix[1:].lower() or "png"
    image_io.atomic_write(
        path,
        lambda file: figure.savefig(file, format=fmt, dpi=dpi, bbox_inches="tight"),
    )
    return path


def _finish(figure, path):
    figure.tight_layout()
    if path is not None:
        save_figure(figure, path)
    return figure


def _as_hwc(image, name):
    image = np.asarray(image, np.float32)
    if image.ndim == 4:
        if image.shape[0] != 1:
            raise ValueError(
                f"{name} must be one image (h, w, c) or a batch of one. "
                f"Received: {name} with shape {image.shape}"
            )
        image = image[0]
    if image.ndim == 2:
        image = image[..., None]
    if image.ndim != 3 or image.shape[-1] not in (1, 3):
        raise ValueError(
            f"{name} must be an image (h, w, 1 or 3). "
            f"Received: {name} with shape {image.shape}"
        )
    return image


def _show(axes, image, title):
    image = np.clip(image, 0.0, 1.0)
    if image.shape[-1] == 1:
        axes.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        axes.imshow(image)
    axes.set_title(title, fontsize=9)
    axes.set_axis_off()


def image_grid(images, titles=None, reference=None, columns=None, path=None):
    """Images side by side, titled, with their PSNR against a reference.

    Args:
        images: a list of images `(h, w, c)` / `(1, h, w, c)`, or a batch
            `(n, h, w, c)`, in [0, 1] (clipped for display).
        titles: optional list of titles, one per image.
        reference: optional clean image; each other image's title then ends
            with its PSNR in dB against it (after clipping to [0, 1]).
        columns: optional int, images per row. Defaults to all in one row
            (up to 6).
        path: optional file to save the figure to.

    Returns:
        The `matplotlib.figure.Figure`.

    Raises:
        ValueError: no images, or `titles` of another length.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> clean = np.full((8, 8, 1), 0.5, "float32")
    >>> figure = km.plot.image_grid(
    ...     [clean, clean + 0.1], ["clean", "noisy"], reference=clean
    ... )
    >>> figure.axes[1].get_title()
    'noisy\\n20.00 dB'
    """
    images = list(images)
    if not images:
        raise ValueError("images is empty. Received: images=[]")
    images = [_as_hwc(image, f"images[{i}]") for i, image in enumerate(images)]
    titles = [""] * len(images) if titles is None else list(titles)
    if len(titles) != len(images):
        raise ValueError(
            f"titles must have one entry per image ({len(images)}). "
            f"Received: {len(titles)} titles"
        )
    if reference is not None:
        reference = _as_hwc(reference, "reference")
        for i, image in enumerate(images):
            if image.shape == reference.shape and not np.array_equal(image, reference):
                psnr = image_psnr(reference, np.clip(image, 0.0, 1.0))
                titles[i] = f"{titles[i]}\n{psnr:.2f} dB".lstrip()
    columns = columns or min(len(images), 6)
    rows = -(-len(images) // columns)
    figure = _figure((2.4 * columns, 2.6 * rows))
    for i, (image, title) in enumerate(zip(images, titles)):
        _show(figure.add_subplot(rows, columns, i + 1), image, title)
    return _finish(figure, path)


def score_field(noisy, denoised, sigma=None, path=None, title=None):
    """The noisy image, its estimate, and the residual (or score) field.

    By Miyasawa's identity the residual `x_hat - y` is `sigma^2 * grad log p(y)`;
    with `sigma` given the third panel shows the score `(x_hat - y) / sigma^2`
    itself. It is drawn with a diverging colour map centred on 0 (the mean over
    colour channels for RGB), with a colour bar.

    Args:
        noisy: the noisy image y, `(h, w, c)` or `(1, h, w, c)`.
        denoised: the estimate x_hat, same shape.
        sigma: optional noise level ([0, 1] units) to draw the score instead
            of the residual.
        path: optional file to save the figure to.
        title: optional figure title.

    Returns:
        The `matplotlib.figure.Figure`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> y = np.random.default_rng(0).uniform(size=(16, 16, 1))
    >>> figure = km.plot.score_field(y, 0.5 + 0 * y, sigma=0.1)
    >>> figure.axes[2].get_title()
    'score (x_hat - y) / sigma^2'
    """
    noisy = _as_hwc(noisy, "noisy")
    denoised = _as_hwc(denoised, "denoised")
    if noisy.shape != denoised.shape:
        raise ValueError(
            "noisy and denoised must have the same shape. Received: "
            f"noisy with shape {noisy.shape}, denoised with shape {denoised.shape}"
        )
    field = (denoised - noisy).mean(axis=-1)
    label = "residual x_hat - y"
    if sigma is not None:
        field = field / float(sigma) ** 2
        label = "score (x_hat - y) / sigma^2"
    figure = _figure((8.5, 3.0))
    _show(figure.add_subplot(1, 3, 1), noisy, "noisy y")
    _show(figure.add_subplot(1, 3, 2), denoised, "denoised x_hat")
    axes = figure.add_subplot(1, 3, 3)
    limit = float(np.abs(field).max()) or 1.0
    shown = axes.imshow(field, cmap="RdBu_r", vmin=-limit, vmax=limit)
    axes.set_title(label, fontsize=9)
    axes.set_axis_off()
    figure.colorbar(shown, ax=axes, fraction=0.046, pad=0.04)
    if title:
        figure.suptitle(title)
    return _finish(figure, path)


def psnr_vs_sigma(curves, input_psnr=None, training_range=None, path=None, title=None):
    """PSNR against noise level, e.g. bias vs bias-free (Mohan et al. 2020).

    Args:
        curves: a dict `label -> (sigmas, psnrs)` with sigmas in [0, 1] units
            and PSNRs in dB, one line each (e.g. `{"bias-free": ...,
            "biased": ...}`).
        input_psnr: optional `(sigmas, psnrs)` of the noisy input, drawn
            dashed.
        training_range: optional `(sigma_min, sigma_max)` in [0, 1] units,
            shaded.
        path: optional file to save the figure to.
        title: optional title. Defaults to "PSNR against noise level".

    Returns:
        The `matplotlib.figure.Figure`.

    Raises:
        ValueError: no curves, or a curve whose arrays differ in length.

    Example:

    >>> import keras_miyasawa as km
    >>> sigmas = [10 / 255, 50 / 255, 90 / 255]
    >>> figure = km.plot.psnr_vs_sigma(
    ...     {"bias-free": (sigmas, [33, 27, 24]), "biased": (sigmas, [33, 26, 15])},
    ...     training_range=(0, 55 / 255),
    ... )
    >>> [line.get_label() for line in figure.axes[0].get_lines()]
    ['bias-free', 'biased']
    """
    if not curves:
        raise ValueError("curves is empty. Received: curves={}")
    figure = _figure((5.0, 3.5))
    axes = figure.add_subplot()
    if training_range is not None:
        low, high = (255.0 * float(s) for s in training_range)
        axes.axvspan(low, high, color="0.9", label="training range")
    for label, (sigmas, psnrs) in curves.items():
        sigmas, psnrs = np.asarray(sigmas, float), np.asarray(psnrs, float)
        if sigmas.shape != psnrs.shape:
            raise ValueError(
                f"curve {label!r} must have one PSNR per sigma. Received: "
                f"{sigmas.size} sigmas and {psnrs.size} PSNRs"
            )
        axes.plot(255.0 * sigmas, psnrs, "o-", label=label)
    if input_psnr is not None:
        sigmas, psnrs = (np.asarray(v, float) for v in input_psnr)
        axes.plot(255.0 * sigmas, psnrs, "--", color="0.5", label="noisy")
    axes.set_xlabel("noise level sigma (0-255)")
    axes.set_ylabel("PSNR (dB)")
    axes.set_title(title or "PSNR against noise level")
    axes.legend()
    axes.grid(alpha=0.3)
    return _finish(figure, path)


def sigma_trajectory(sigmas, path=None, title=None, target=None):
    """The effective noise level sigma_t per iteration of a sampler (log scale).

    The coarse-to-fine sampler (Kadkhodaie & Simoncelli 2021) estimates
    sigma_t = ||x_hat(y_t) - y_t|| / sqrt(N) at each step and stops when it
    falls below a target; this draws that decay.

    Args:
        sigmas: one sequence of sigma_t ([0, 1] units), a `(steps,)` array, a
            `(steps, batch)` array (one line per example), or a dict
            `label -> sequence`. Zeros (chains that stopped) are not drawn.
        path: optional file to save the figure to.
        title: optional title.
        target: optional final noise level, drawn as a horizontal line.

    Returns:
        The `matplotlib.figure.Figure`.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> figure = km.plot.sigma_trajectory({"synthesis": np.geomspace(0.5, 0.01, 30)})
    >>> figure.axes[0].get_yscale()
    'log'
    """
    if isinstance(sigmas, dict):
        lines = {label: np.asarray(v, float) for label, v in sigmas.items()}
    else:
        values = np.asarray(sigmas, float)
        if values.ndim == 2:
            lines = {f"example {i}": values[:, i] for i in range(values.shape[1])}
        else:
            lines = {"sigma_t": values.reshape(-1)}
    figure = _figure((5.0, 3.5))
    axes = figure.add_subplot()
    for label, values in lines.items():
        # Samplers pad a chain that stopped early with zeros: not drawn.
        values = np.where(values > 0, values, np.nan)
        axes.plot(np.arange(1, values.size + 1), 255.0 * values, label=label)
    if target is not None:
        axes.axhline(255.0 * float(target), color="0.5", ls="--", label="target")
    axes.set_yscale("log")
    axes.set_xlabel("iteration t")
    axes.set_ylabel("sigma_t (0-255)")
    axes.set_title(title or "effective noise level per iteration")
    if len(lines) > 1 or target is not None:
        axes.legend()
    axes.grid(alpha=0.3, which="both")
    return _finish(figure, path)


def score_vector_field(
    score_fn,
    extent=(-3.0, 3.0, -3.0, 3.0),
    trajectories=None,
    grid=21,
    path=None,
    title=None,
):
    """The 2-D score field of a toy prior, with optional sampler trajectories.

    Args:
        score_fn: a callable mapping points `(n, 2)` to scores `(n, 2)`, e.g.
            `lambda p: km.score(prior, p, sigma)`.
        extent: `(x_min, x_max, y_min, y_max)`. Defaults to `(-3, 3, -3, 3)`.
        trajectories: optional array `(steps, n, 2)` (or list of `(steps, 2)`
            arrays) of sampler paths, drawn as lines ending in a dot.
        grid: int, arrows per axis. Defaults to `21`.
        path: optional file to save the figure to.
        title: optional title.

    Returns:
        The `matplotlib.figure.Figure`.

    Example:

    >>> import keras_miyasawa as km
    >>> figure = km.plot.score_vector_field(lambda p: -p, grid=5)
    >>> len(figure.axes)
    1
    """
    x_min, x_max, y_min, y_max = (float(v) for v in extent)
    xs, ys = np.meshgrid(
        np.linspace(x_min, x_max, grid), np.linspace(y_min, y_max, grid)
    )
    points = np.stack([xs.ravel(), ys.ravel()], axis=-1).astype(np.float32)
    field = np.asarray(score_fn(points), float).reshape(grid, grid, 2)
    figure = _figure((4.5, 4.5))
    axes = figure.add_subplot()
    axes.quiver(xs, ys, field[..., 0], field[..., 1], color="0.4", angles="xy")
    if trajectories is not None:
        if not isinstance(trajectories, (list, tuple)):
            trajectories = np.asarray(trajectories, float)
            trajectories = [trajectories[:, i] for i in range(trajectories.shape[1])]
        for path_points in trajectories:
            path_points = np.asarray(path_points, float)
            (line,) = axes.plot(path_points[:, 0], path_points[:, 1], lw=1)
            axes.plot(*path_points[-1], "o", color=line.get_color(), ms=4)
    axes.set_xlim(x_min, x_max)
    axes.set_ylim(y_min, y_max)
    axes.set_aspect("equal")
    axes.set_title(title or "score grad log p(y)")
    return _finish(figure, path)
