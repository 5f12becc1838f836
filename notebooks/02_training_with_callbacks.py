# %% [markdown]
# # 2. Training a BF-DnCNN with `fit` and the Miyasawa callbacks
#
# A bias-free DnCNN (Mohan et al. 2020) trained with plain `model.fit` on noisy
# patches from `km.data.denoising_dataset`. Two callbacks watch how close the
# network is to Miyasawa's identity $\hat x(y) = y + \sigma^2 \nabla \log
# p_\sigma(y)$ while it trains:
#
# - `km.callbacks.MiyasawaMonitor` logs, per noise level, the PSNR, the blind
#   noise estimate $\hat\sigma = \|\hat x - y\| / \sqrt N$, the score norm,
#   the homogeneity error $\|f(ay) - a f(y)\|$ (zero for a bias-free net), the
#   Jacobian asymmetry (zero for an MMSE denoiser, whose Jacobian is
#   $I + \sigma^2 \nabla^2 \log p_\sigma$, symmetric) and Stein's unbiased
#   MSE estimate; with `log_dir` it writes them (and images) for TensorBoard;
# - `km.callbacks.NoiseLevelSweep` measures PSNR against $\sigma$ at the end
#   of training and draws the generalization curve.
#
# The images: matplotlib's bundled photograph of Grace Hopper (no download).

# %%
# writes: 02_patches.png 02_miyasawa_stats.png 02_sweep.png 02_denoised.png
# writes: 02_score_field.png
import os

import keras
import matplotlib.pyplot as plt
import numpy as np
from matplotlib import cbook

import keras_miyasawa as km

FAST = True  # False: a deeper, wider network trained for longer
keras.utils.set_random_seed(0)

# %% [markdown]
# ## Data: patches of one photograph
#
# The grayscale image is cut into 64 x 64 tiles: most train, a few are held
# out to validate. `denoising_dataset` takes the array, crops random patches,
# flips them, and adds noise with a per-patch $\sigma \sim U(0, 55/255)$.

# %%
with cbook.get_sample_data("grace_hopper.jpg") as f:
    rgb = plt.imread(f).astype("float32") / 255.0
gray = rgb @ np.array([0.299, 0.587, 0.114], "float32")
if FAST:
    gray = gray[::2, ::2]  # 256 x 240
tile = 64
rows, cols = gray.shape[0] // tile, gray.shape[1] // tile
tiles = (
    gray[: rows * tile, : cols * tile]
    .reshape(rows, tile, cols, tile)
    .transpose(0, 2, 1, 3)
    .reshape(-1, tile, tile, 1)
)
rng = np.random.default_rng(0)
order = rng.permutation(len(tiles))
val_images, train_images = tiles[order[:3]], tiles[order[3:]]
print("train tiles", train_images.shape, "validation tiles", val_images.shape)

training_range = (0.0, 55 / 255)
dataset = km.data.denoising_dataset(
    train_images,
    patch_size=32 if FAST else 40,
    sigma_range=training_range,
    batch_size=16 if FAST else 64,
    seed=0,
)
noisy, clean = next(iter(dataset))
km.plot.image_grid(
    list(np.asarray(noisy[:4])) + list(np.asarray(clean[:4])),
    titles=["noisy"] * 4 + ["clean"] * 4,
    columns=4,
    path="02_patches.png",
)

# %% [markdown]
# ## The model and the callbacks
#
# `km.models.DnCNN(bias_free=True)` has no additive constant anywhere (convs,
# batch norm if any, output), so in inference it is positively homogeneous.
# `MiyasawaMonitor` goes *before* `TensorBoard`/`History` in the list so that
# they see the statistics it adds to the logs.

# %%
# FAST: a shallow net without batch norm, which trains in a few hundred steps.
model = km.models.DnCNN(
    channels=1,
    depth=5 if FAST else 17,
    filters=32 if FAST else 64,
    batch_norm=not FAST,
    bias_free=True,
)
model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="mse")
log_dir = "02_logs"
sigmas = (15 / 255, 50 / 255)
monitor = km.callbacks.MiyasawaMonitor(
    val_images, sigmas=sigmas, log_dir=log_dir, max_images=2, seed=0
)
sweep = km.callbacks.NoiseLevelSweep(
    val_images,
    sigmas=np.array([5, 15, 25, 35, 50, 70, 100]) / 255,
    training_range=training_range,
    figure_path="02_sweep.png",
)
epochs = 5 if FAST else 30
history = model.fit(
    dataset,
    epochs=epochs,
    steps_per_epoch=40 if FAST else 500,
    callbacks=[monitor, sweep],
    verbose=2,
)

# %% [markdown]
# ## The logged statistics
#
# Every statistic is in `history.history` (and in TensorBoard under
# `02_logs`: `tensorboard --logdir 02_logs`). The homogeneity error stays at
# float32 round-off: the network is bias-free by construction. The PSNR rises
# and $\hat\sigma$ approaches $\sigma$ as training proceeds.

# %%
logged = history.history
for name in sorted(k for k in logged if k.startswith("miyasawa_")):
    print(f"{name:36s}", " ".join(f"{v:9.4f}" for v in logged[name]))

stats = ["psnr", "sigma_hat_error", "homogeneity_error", "jacobian_asymmetry"]
fig, axes = plt.subplots(1, len(stats), figsize=(14, 3))
for ax, stat in zip(axes, stats):
    for sigma in sigmas:
        key = f"miyasawa_{stat}_s{round(sigma * 255)}"
        ax.plot(range(1, epochs + 1), logged[key], "o-", label=key.split("_")[-1])
    ax.set(title=stat, xlabel="epoch")
    ax.legend(fontsize=8)
fig.tight_layout()
fig.savefig("02_miyasawa_stats.png", dpi=80)

# %%
events = [
    os.path.join(d, f) for d, _, fs in os.walk(log_dir) for f in fs if "tfevents" in f
]
print("TensorBoard event files:", events)
assert events
assert max(logged["miyasawa_homogeneity_error_s15"]) < 1e-4

# %% [markdown]
# ## Denoising a held-out tile
#
# The residual $\hat x - y$ is $\sigma^2$ times the score the network has
# learned: mostly the noise, with little image structure left in it.

# %%
sigma = 25 / 255
y = val_images[:1] + sigma * np.random.default_rng(1).standard_normal(
    val_images[:1].shape
).astype("float32")
x_hat = np.asarray(model(y, training=False))
print(
    f"blind noise estimate {float(km.estimate_noise_level(model, y)[0]):.4f}"
    f" (true {sigma:.4f})"
)
km.plot.image_grid(
    [y[0], x_hat[0], val_images[0]],
    titles=["noisy", "BF-DnCNN", "clean"],
    reference=val_images[0],
    path="02_denoised.png",
)
km.plot.score_field(y, x_hat, sigma=sigma, path="02_score_field.png")
