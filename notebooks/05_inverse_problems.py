# %% [markdown]
# # 5. Inverse problems with the prior implicit in a denoiser
#
# A blind denoiser trained for least squares knows the score of the noisy
# image density (Miyasawa), so it can act as a prior for any linear inverse
# problem without retraining. Kadkhodaie & Simoncelli (2021) recover an image
# `x` from measurements `x_c = M^T x` (with `M^T M = I`) by a coarse-to-fine
# ascent whose denoiser step is confined to the *unmeasured* subspace and whose
# measured part is pulled towards `x_c`:
#
# $$d_t = (I - M M^T)(f(y_t) - y_t) + M (x_c - M^T y_t).$$
#
# This notebook runs `km.samplers.solve_inverse_problem` with a pretrained
# bias-free DnCNN on five problems (inpainting, 10% random pixels, 4x
# super-resolution, a 10% spectral low-pass and 10% compressive sensing), and
# compares it with the naive `operator.mean_fill` baseline and with RED
# (`km.samplers.red`, Romano et al. 2017).

# %%
# requires: shared
# writes: 05_inverse_problems.png 05_sigma_trajectories.png
import os
import tempfile
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

import keras_miyasawa as km

FAST = True  # False: a larger crop and the paper's small steps (minutes on CPU)
keras.utils.set_random_seed(0)
# One compiled loop per operator: TensorFlow's retracing notice is expected.
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

# %% [markdown]
# ## The denoiser and the image
#
# `mohan2020_dncnn_bias_free_0-55` is the published BF-DnCNN of Mohan et al.
# (2020), trained on noise levels 0-55/255 and converted from its PyTorch
# checkpoint on first use. The image is a crop of "House" from Set12.

# %%
denoiser = km.from_preset("mohan2020_dncnn_bias_free_0-55")
size = 48 if FAST else 128
image = km.image_io.read_image(SHARED / "data" / "set12" / "02.png")
top = (image.shape[0] - size) // 2
x = image[None, top : top + size, top : top + size]  # (1, size, size, 1)
print("crop", x.shape)

# %% [markdown]
# ## Five measurement operators
#
# Every operator is built for the image shape, `forward` is `M^T` and
# `adjoint` is `M`. `mean_fill` puts the measurements back and fills the
# rest with one constant: the baseline to beat.

# %%
shape = x.shape[1:]
hole = size // 3
operators = {
    "inpainting": km.operators.Inpainting(
        hole=(hole, hole, hole, hole), image_shape=shape
    ),
    "random pixels 10%": km.operators.RandomPixels(0.1, seed=0, image_shape=shape),
    "super-resolution x4": km.operators.SuperResolution(4, image_shape=shape),
    "spectral low-pass 10%": km.operators.SpectralLowPass(0.1, image_shape=shape),
    "compressive sensing 10%": km.operators.CompressiveSensing(
        0.1, seed=0, image_shape=shape
    ),
}
for name, operator in operators.items():
    print(f"{name:24s} {operator.num_measurements:5d} of {x.size} values measured")

# %% [markdown]
# ## Solving
#
# With `FAST`, larger first steps `h0` and a larger `beta` (less noise
# injected) make each solve take a few dozen iterations instead of several
# hundred; the paper's `h0 = beta = 0.01` gives slightly better images.
# RED starts from the mean fill and iterates
# `x <- f(x) + M (x_c - M^T f(x)) / (1 + lam)`.

# %%
h0, beta = (0.1, 0.1) if FAST else (0.01, 0.01)
red_steps = 20 if FAST else 100


def psnr(estimate):
    clipped = np.clip(np.asarray(estimate), 0.0, 1.0)
    return float(np.asarray(km.metrics.psnr(x, clipped))[0])


results = {}
for name, operator in operators.items():
    measurement = operator.forward(x)
    start = time.perf_counter()
    solved = km.samplers.solve_inverse_problem(
        denoiser, operator, measurement, h0=h0, beta=beta, seed=0
    )
    seconds = time.perf_counter() - start
    results[name] = {
        "measured": operator.adjoint(measurement),
        "mean fill": operator.mean_fill(measurement),
        "RED": km.samplers.red(
            denoiser, operator, measurement, lam=1.0, num_steps=red_steps
        ),
        "solve_inverse_problem": solved.samples,
        "sigmas": solved.sigmas[0],
    }
    print(
        f"{name:24s} mean fill {psnr(results[name]['mean fill']):5.2f} dB  "
        f"RED {psnr(results[name]['RED']):5.2f} dB  "
        f"solve {psnr(solved.samples):5.2f} dB  "
        f"({int(solved.num_steps[0])} steps, {seconds:.1f} s)"
    )

# %% [markdown]
# ## The reconstructions
#
# Each row is one problem: the clean crop, what the measurements show (`M x_c`),
# the mean fill, RED and the coarse-to-fine solution, with PSNRs against the
# clean crop. A blind denoiser applied to the clean-looking mean fill sees
# almost no noise and barely changes it, so RED moves slowly; the
# coarse-to-fine solver starts from noise and lets the denoiser fill in the
# unmeasured subspace at every scale.

# %%
columns = ["measured", "mean fill", "RED", "solve_inverse_problem"]
images, titles = [], []
for name, result in results.items():
    images += [x[0]] + [np.clip(np.asarray(result[c])[0], 0, 1) for c in columns]
    titles += [name] + columns
km.plot.image_grid(
    images, titles, reference=x[0], columns=5, path="05_inverse_problems.png"
)

# %% [markdown]
# ## The effective noise level along the way
#
# `sigma_t = ||d_t|| / sqrt(N)` falls from the start's noise level to the
# stopping level `sigma_L = 0.01`: the solver works from coarse to fine.

# %%
km.plot.sigma_trajectory(
    {name: result["sigmas"] for name, result in results.items()},
    target=0.01,
    title="solve_inverse_problem: sigma_t",
    path="05_sigma_trajectories.png",
)
