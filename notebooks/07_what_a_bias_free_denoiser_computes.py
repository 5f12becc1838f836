# %% [markdown]
# # 7. What a bias-free denoiser computes
#
# A bias-free network with ReLUs is piecewise linear and has no additive
# constants, so at every input it is *exactly* a linear map of that input:
#
# $$\hat x(y) = J(y)\, y, \qquad J(y) = \partial \hat x / \partial y.$$
#
# Mohan et al. (ICLR 2020, section 6) read the denoiser through this
# Jacobian: its rows are the *adaptive filters* that compute each output
# pixel, its trace is the dimension of the local subspace that the denoiser
# keeps, and it is close to symmetric, as the Jacobian of an MMSE denoiser
# (the Hessian of a log density, by Miyasawa) must be. A network *with*
# biases adds a net bias `b(y) = f(y) - J(y) y`, which the bias-free one
# does not have. All of it with `km.analysis`, on the published BF-DnCNN.

# %%
# requires: shared
# writes: 07_adaptive_filters.png 07_effective_dimension.png 07_net_bias.png
import os
import tempfile
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf

import keras_miyasawa as km

FAST = True  # False: larger crops for the exact Jacobian and more noise levels
keras.utils.set_random_seed(0)
# One Jacobian function per noise level: the retracing notice is expected.
tf.get_logger().setLevel("ERROR")


def find_shared():
    """The `shared` folder next to the repository (reference checkpoints, Set12)."""
    start = Path(os.environ.get("KERAS_MIYASAWA_REPO", os.getcwd())).resolve()
    for folder in (start, *start.parents):
        if (folder / "shared" / "reference" / "checkpoints").is_dir():
            return folder / "shared"
    raise FileNotFoundError("no ../shared folder; set KERAS_MIYASAWA_REPO")


SHARED = find_shared()
os.environ.setdefault(
    "KERAS_MIYASAWA_CHECKPOINT_DIR", str(SHARED / "reference" / "checkpoints")
)
os.environ.setdefault("KERAS_MIYASAWA_HOME", tempfile.mkdtemp())

denoiser = km.from_preset("mohan2020_dncnn_bias_free_0-100")
image = km.image_io.read_image(SHARED / "data" / "set12" / "01.png")  # cameraman
rng = np.random.default_rng(0)


def crop(size, top, left):
    return image[None, top : top + size, left : left + size]


# %% [markdown]
# ## Adaptive filters
#
# `km.analysis.adaptive_filters` returns rows of `J(y)` for chosen output
# pixels (one VJP each), as images: the weights with which the denoiser
# averages the noisy pixels into that output pixel. They follow the local
# structure (edges, the window frame) and grow wider as the noise grows.

# %%
size = 40
x = crop(size, top=50, left=100)
noise = rng.standard_normal(x.shape).astype("float32")
pixels = [(20, 20), (8, 30), (32, 8)]
filter_sigmas = [10, 25, 50, 100] if FAST else [5, 10, 25, 50, 75, 100]
images, titles = [], []
for sigma in filter_sigmas:
    y = x + sigma / 255 * noise
    filters = np.asarray(km.analysis.adaptive_filters(denoiser, y, pixels))[0]
    images.append(np.clip(y[0], 0, 1))
    titles.append(f"noisy, sigma {sigma}")
    for (row, col), weights in zip(pixels, filters):
        # Shown with 0 as mid-gray, scaled to the largest weight.
        images.append(0.5 + 0.5 * weights / np.abs(weights).max())
        titles.append(f"filter at ({row}, {col})")
km.plot.image_grid(
    images, titles, columns=1 + len(pixels), path="07_adaptive_filters.png"
)

# %% [markdown]
# ## Effective dimension and symmetry
#
# `km.analysis.jacobian_matrix` forms `J` exactly (one VJP per pixel, so only
# on small crops); `effective_dimension` is its trace, the number of
# directions the denoiser keeps, and `jacobian_symmetry_error` is
# `||J - J^T|| / ||J||`. On larger images `hutchinson_divergence` estimates
# the same trace matrix-free from a few random probes. The trace falls as the
# noise grows: the noisier the image, the smaller the subspace the denoiser
# projects onto (Mohan et al., figure 4).
#
# The asymmetry is well below the value of about 1.4 that a matrix with
# unrelated upper and lower triangles would give, but not zero: the network
# approximates an MMSE denoiser, whose Jacobian would be exactly symmetric.
# On tiny crops like this one, the zero padding at the borders adds to it.

# %%
sigmas_255 = [5, 15, 25, 50, 100] if FAST else [5, 10, 15, 25, 35, 50, 75, 100]
small = crop(16 if FAST else 32, top=60, left=110)
small_noise = rng.standard_normal(small.shape).astype("float32")
large = crop(64 if FAST else 128, top=40, left=90)
large_noise = rng.standard_normal(large.shape).astype("float32")

exact, symmetry, estimated = [], [], []
for sigma in sigmas_255:
    jacobian = km.analysis.jacobian_matrix(denoiser, small + sigma / 255 * small_noise)
    exact.append(float(km.analysis.effective_dimension(jacobian)[0]) / small.size)
    symmetry.append(float(km.analysis.jacobian_symmetry_error(jacobian)[0]))
    trace = km.analysis.hutchinson_divergence(
        denoiser, large + sigma / 255 * large_noise, num_probes=4, seed=0
    )
    estimated.append(float(trace[0]) / large.size)
    print(
        f"sigma {sigma:3d}: tr(J)/N = {exact[-1]:.3f} (exact, {small.shape[1]}px), "
        f"{estimated[-1]:.3f} (Hutchinson, {large.shape[1]}px); "
        f"||J - J^T|| / ||J|| = {symmetry[-1]:.3f}"
    )

figure, axes = plt.subplots(1, 2, figsize=(9, 3.5))
axes[0].plot(
    sigmas_255, exact, "o-", label=f"exact J, {small.shape[1]}x{small.shape[1]}"
)
axes[0].plot(
    sigmas_255, estimated, "s--", label=f"Hutchinson, {large.shape[1]}x{large.shape[1]}"
)
axes[0].set(
    xscale="log",
    xlabel="noise std (/255)",
    ylabel="tr(J) / N",
    title="effective dimension",
)
axes[0].legend()
axes[1].plot(sigmas_255, symmetry, "o-")
axes[1].set(
    xscale="log",
    xlabel="noise std (/255)",
    ylabel="||J - J^T|| / ||J||",
    title="Jacobian asymmetry",
    ylim=(0, None),
)
figure.tight_layout()
figure.savefig("07_effective_dimension.png", dpi=100)

# %% [markdown]
# ## Net bias: zero for the bias-free network
#
# `km.analysis.net_bias` splits the output into `J(y) y` and the rest,
# `b(y) = f(y) - J(y) y` (one JVP). For the bias-free network `b(y)` is zero
# to float rounding at every noise level; for the DnCNN with biases trained
# on the same data and noise range (0-55) it is a sizeable share of the
# output, and it is largest outside the training range, where the biased
# network generalizes worst (Mohan et al., figure 2).

# %%
twins = {
    "bias-free 0-55": km.from_preset("mohan2020_dncnn_bias_free_0-55"),
    "biased 0-55": km.from_preset("mohan2020_dncnn_bias_0-55"),
}
ratios = {label: [] for label in twins}
for sigma in sigmas_255:
    y = large + sigma / 255 * large_noise
    for label, model in twins.items():
        result = km.analysis.net_bias(model, y)
        ratios[label].append(float(result["bias_ratio"][0]))
    print(
        f"sigma {sigma:3d}: ||b(y)|| / ||J(y) y|| = "
        + ", ".join(f"{label} {r[-1]:.2e}" for label, r in ratios.items())
    )

figure, axis = plt.subplots(figsize=(5, 3.5))
for label, values in ratios.items():
    # Exact zeros cannot be drawn on a log axis: they appear at 1e-9.
    if max(values) == 0.0:
        label += " (0, drawn at 1e-9)"
    axis.plot(sigmas_255, np.maximum(values, 1e-9), "o-", label=label)
axis.axvspan(min(sigmas_255), 55, color="0.9", label="training range")
axis.set(
    xscale="log",
    yscale="log",
    xlabel="noise std (/255)",
    ylabel="||b(y)|| / ||J(y) y||",
    title="net bias",
)
axis.legend()
figure.tight_layout()
figure.savefig("07_net_bias.png", dpi=100)
