# %% [markdown]
# # 3. Bias vs bias-free: generalization beyond the training noise range
#
# Mohan et al. (ICLR 2020) observed that a denoising CNN trained on a narrow
# range of noise levels fails badly outside it, and that removing every
# additive constant (bias) from the network fixes this. A bias-free network is
# positively homogeneous, $f(a y) = a f(y)$ for $a > 0$, so it is locally
# linear, $f(y) = J(y)\, y$, and scaling the input by $a$ scales the noise
# *and* the output by $a$: what it learned at one noise level carries over to
# others. By Miyasawa, $f(y) - y = \sigma^2 \nabla \log p_\sigma(y)$, so a
# network that generalizes across $\sigma$ estimates the score at every
# $\sigma$ — what the samplers of notebook 4 need.
#
# Here: two tiny DnCNNs, identical but for `bias_free`, trained with `fit` on
# noise std in $[0, 10]/255$ only, then swept up to $100/255$ with
# `km.callbacks.NoiseLevelSweep` and drawn with `km.plot.psnr_vs_sigma`.

# %%
# writes: 03_psnr_vs_sigma.png 03_denoised_sigma50.png
import os
from pathlib import Path

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook

import keras_miyasawa as km

FAST = True  # False: deeper networks trained for longer
keras.utils.set_random_seed(0)

# %% [markdown]
# ## Data: patches of one photograph, noise std in [0, 10] / 255

# %%
with cbook.get_sample_data("grace_hopper.jpg") as f:
    rgb = plt.imread(f).astype("float32") / 255.0
gray = rgb @ np.array([0.299, 0.587, 0.114], "float32")
gray = gray[::2, ::2]  # 256 x 240
tile = 64
rows, cols = gray.shape[0] // tile, gray.shape[1] // tile
tiles = (
    gray[: rows * tile, : cols * tile]
    .reshape(rows, tile, cols, tile)
    .transpose(0, 2, 1, 3)
    .reshape(-1, tile, tile, 1)
)
order = np.random.default_rng(0).permutation(len(tiles))
val_images, train_images = tiles[order[:3]], tiles[order[3:]]

training_range = (0.0, 10 / 255)
dataset = km.data.denoising_dataset(
    train_images, patch_size=32, sigma_range=training_range, batch_size=16, seed=0
)

# %% [markdown]
# ## Two networks, trained the same way

# %%
steps = 300 if FAST else 3000
models = {}
for bias_free in (True, False):
    keras.utils.set_random_seed(0)
    model = km.models.DnCNN(
        channels=1,
        depth=5 if FAST else 17,
        filters=32 if FAST else 64,
        batch_norm=not FAST,
        bias_free=bias_free,
    )
    model.compile(optimizer=keras.optimizers.Adam(3e-3, epsilon=1e-10), loss="mse")
    model.fit(dataset, epochs=1, steps_per_epoch=steps, verbose=0)
    models["bias-free" if bias_free else "biased"] = model

# %% [markdown]
# ## The sweep
#
# PSNR of the estimate (clipped to [0, 1]) against the noise std, on the
# held-out tiles, one fixed noise draw per level. With `FAST` the networks
# have trained for a few seconds only and gain under a dB inside the shaded
# training range, but the pattern already shows: beyond the range the
# bias-free network keeps a margin over the noisy input while the biased one
# falls back to it. The published networks (last section) show the full
# effect: beyond 10/255 the biased one gains almost nothing over the noisy
# input, while the bias-free one is still about 9 dB above it at 100/255.
# (The tiny MSE of low noise levels calls for Adam's `epsilon` well below the
# gradients' scale.)

# %%
sigmas = np.array([2, 5, 10, 20, 35, 50, 75, 100]) / 255
sweep = km.callbacks.NoiseLevelSweep(val_images, sigmas=sigmas, seed=0)
curves, input_psnr = {}, None
for name, model in models.items():
    result = sweep.evaluate(model)
    curves[name] = (result["sigma"], result["psnr"])
    input_psnr = (result["sigma"], result["input_psnr"])
print("sigma*255 ", " ".join(f"{s * 255:6.0f}" for s in sigmas))
print("input     ", " ".join(f"{p:6.2f}" for p in input_psnr[1]))
for name, (_, psnr) in curves.items():
    print(f"{name:10s}", " ".join(f"{p:6.2f}" for p in psnr))
gap = curves["bias-free"][1][-1] - curves["biased"][1][-1]
print(f"at sigma = 100/255 the bias-free network is ahead by {gap:.2f} dB")

km.plot.psnr_vs_sigma(
    curves,
    input_psnr=input_psnr,
    training_range=training_range,
    title="tiny DnCNNs trained on sigma in [0, 10]/255",
    path="03_psnr_vs_sigma.png",
)
# %% [markdown]
# ## One held-out tile at sigma = 50 / 255
#
# Five times the largest training noise. The PSNRs in the titles repeat the
# sweep; with `FAST` both tiny networks remove only a little of the noise
# (`FAST = False` trains deeper networks ten times longer).

# %%
sigma = 50 / 255
clean = val_images[:1]
rng = np.random.default_rng(1)
noisy = clean + sigma * rng.standard_normal(clean.shape).astype("float32")
outputs = {name: np.asarray(m(noisy, training=False))[0] for name, m in models.items()}
km.plot.image_grid(
    [noisy[0], outputs["bias-free"], outputs["biased"], clean[0]],
    titles=["noisy, sigma=50", "bias-free", "biased", "clean"],
    reference=clean[0],
    path="03_denoised_sigma50.png",
)
# %% [markdown]
# ## The published networks (needs the reference checkpoints)
#
# The same experiment with the checkpoints of Mohan et al., trained on BSD400
# with noise std in $[0, 10]/255$: `mohan2020_dncnn_bias_0-10` against
# `mohan2020_dncnn_bias_free_0-10`, on a small crop. The presets are converted
# from the original files found in `$KERAS_MIYASAWA_CHECKPOINT_DIR` (or
# downloaded); this cell is skipped when they are not available offline.

# %%
checkpoints = os.environ.get("KERAS_MIYASAWA_CHECKPOINT_DIR", "")
if checkpoints and Path(checkpoints).is_dir():
    crop = gray[None, 64:160, 64:160, None] if FAST else gray[None, ..., None]
    preset_sweep = km.callbacks.NoiseLevelSweep(crop, sigmas=sigmas, seed=0)
    preset_curves = {}
    for name in ("mohan2020_dncnn_bias_free_0-10", "mohan2020_dncnn_bias_0-10"):
        result = preset_sweep.evaluate(km.from_preset(name))
        preset_curves[name] = (result["sigma"], result["psnr"])
        print(f"{name:32s}", " ".join(f"{p:6.2f}" for p in result["psnr"]))
    km.plot.psnr_vs_sigma(
        preset_curves,
        input_psnr=(result["sigma"], result["input_psnr"]),
        training_range=training_range,
        title="Mohan et al. (2020) DnCNNs trained on [0, 10]/255",
        path="03_presets_psnr_vs_sigma.png",
    )
else:
    print("KERAS_MIYASAWA_CHECKPOINT_DIR is not set: skipping the reference presets")
