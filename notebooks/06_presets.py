# %% [markdown]
# # 6. Pretrained presets and the reference checkpoints
#
# A preset is a folder with `config.json`, `model.weights.h5`,
# `metadata.json` (with the sha256 of the weights) and a `README.md` model
# card. `km.from_preset` loads one by name or path, `model.save_to_preset`
# writes one. The 16 `mohan2020_*` presets are the published PyTorch
# checkpoints of Mohan et al. (ICLR 2020), converted without PyTorch by a
# restricted unpickler and checked against their published sha256.
#
# This notebook lists the presets, reads a model card, imports a `.pt` file
# directly, round-trips a model through `save_to_preset` / `from_preset`,
# denoises a Set12 crop, and shows the paper's main result: a biased network
# trained on small noise fails beyond its training range, the bias-free one
# does not.

# %%
# requires: shared
# writes: 06_denoise.png 06_bias_vs_bias_free.png 06_psnr_vs_sigma.png
import os
import tempfile
from pathlib import Path

import keras
import numpy as np

import keras_miyasawa as km

FAST = True  # False: a larger crop and more noise levels
keras.utils.set_random_seed(0)


def find_shared():
    """The `shared` folder next to the repository (reference checkpoints, Set12)."""
    start = Path(os.environ.get("KERAS_MIYASAWA_REPO", os.getcwd())).resolve()
    for folder in (start, *start.parents):
        if (folder / "shared" / "reference" / "checkpoints").is_dir():
            return folder / "shared"
    raise FileNotFoundError("no ../shared folder; set KERAS_MIYASAWA_REPO")


SHARED = find_shared()
CHECKPOINTS = SHARED / "reference" / "checkpoints"
# Local copies of the .pt files instead of downloads; a scratch preset cache.
os.environ.setdefault("KERAS_MIYASAWA_CHECKPOINT_DIR", str(CHECKPOINTS))
os.environ.setdefault("KERAS_MIYASAWA_HOME", tempfile.mkdtemp())

# %% [markdown]
# ## What is available
#
# `km.list_presets()` names every preset (the reference ones and the
# project's own under `models/`); `km.presets.get_preset_info` describes one
# without loading or downloading it.

# %%
for name in km.list_presets():
    info = km.presets.get_preset_info(name)
    low, high = (255 * np.asarray(info["training_noise_range"])).round().astype(int)
    print(
        f"{name:34s} {info['architecture']:6s} "
        f"{'bias-free' if info['bias_free'] else 'biased':9s} "
        f"sigma {low}-{high:<3d} {info['parameter_count']:>9,d} parameters"
    )

# %% [markdown]
# ## Loading a preset and reading its model card
#
# The first `from_preset` converts the checkpoint and caches the preset
# folder under `$KERAS_MIYASAWA_HOME/presets`; later calls load the cache and
# check the weights' sha256.

# %%
denoiser = km.from_preset("mohan2020_dncnn_bias_free_0-55")
info = km.presets.get_preset_info("mohan2020_dncnn_bias_free_0-55")
preset_dir = Path(info["path"])
print(sorted(path.name for path in preset_dir.iterdir()))
print((preset_dir / "README.md").read_text())

# %% [markdown]
# ## Importing a PyTorch checkpoint directly
#
# `km.presets.import_torch_checkpoint` reads a `torch.save` file (no PyTorch
# needed), infers the architecture, and returns a Keras model that maps `y` to
# `x_hat` (the reference DnCNN predicts the noise; the import converts it).

# %%
imported = km.presets.import_torch_checkpoint(
    CHECKPOINTS / "dncnn" / "bias_free" / "0-55.pt"
)
print(type(imported).__name__, "bias_free =", imported.bias_free)

size = 64 if FAST else 256
image = km.image_io.read_image(SHARED / "data" / "set12" / "08.png")
top = (image.shape[0] - size) // 2
x = image[None, top : top + size, top : top + size]
rng = np.random.default_rng(0)
noise = rng.standard_normal(x.shape).astype("float32")
y = x + 25 / 255 * noise
difference = np.abs(np.asarray(imported(y)) - np.asarray(denoiser(y))).max()
print(f"imported vs preset: max |difference| = {difference:.2e}")

# %% [markdown]
# ## Your own presets: `save_to_preset` / `from_preset`
#
# Any denoiser saves to a preset folder with descriptive metadata, which ends
# up in its `metadata.json` and model card.

# %%
scratch = Path(tempfile.mkdtemp())
saved = imported.save_to_preset(
    scratch / "my_bf_dncnn",
    metadata={
        "training_data": "BSD400 (Mohan et al. 2020)",
        "training_noise_range": [0.0, 55 / 255],
    },
)
print(sorted(path.name for path in saved.iterdir()))
print(km.presets.load_preset_metadata(saved))
reloaded = km.from_preset(saved)
difference = np.abs(np.asarray(reloaded(y)) - np.asarray(imported(y))).max()
print(f"reloaded vs saved: max |difference| = {difference:.2e}")

# %% [markdown]
# ## Denoising a Set12 crop
#
# Images are float32 NHWC in [0, 1]; sigma 25 means a noise std of 25/255.
# The networks are blind: they take `y` alone.

# %%
x_hat = np.clip(np.asarray(denoiser(y)), 0.0, 1.0)
km.plot.image_grid(
    [x[0], y[0], x_hat[0]],
    ["clean", "noisy, sigma 25", "BF-DnCNN 0-55"],
    reference=x[0],
    path="06_denoise.png",
)

# %% [markdown]
# ## Bias vs bias-free beyond the training range
#
# Both networks below were trained on noise up to sigma 10 only. At sigma 50
# the biased DnCNN leaves most of the noise in; the bias-free one, whose
# output scales with its input (`f(a y) = a f(y)`), generalizes.

# %%
models = {
    "biased 0-10": km.from_preset("mohan2020_dncnn_bias_0-10"),
    "bias-free 0-10": km.from_preset("mohan2020_dncnn_bias_free_0-10"),
}
y50 = x + 50 / 255 * noise
outputs = {label: np.clip(np.asarray(m(y50)), 0, 1) for label, m in models.items()}
km.plot.image_grid(
    [x[0], y50[0]] + [out[0] for out in outputs.values()],
    ["clean", "noisy, sigma 50"] + list(outputs),
    reference=x[0],
    path="06_bias_vs_bias_free.png",
)

sigmas_255 = [5, 10, 25, 50, 75] if FAST else [5, 10, 15, 25, 35, 50, 75, 100]
sigmas = np.array(sigmas_255) / 255


def psnr(estimate):
    clipped = np.clip(np.asarray(estimate), 0.0, 1.0)
    return float(np.asarray(km.metrics.psnr(x, clipped))[0])


curves = {
    label: (sigmas, [psnr(m(x + s * noise)) for s in sigmas])
    for label, m in models.items()
}
input_psnr = (sigmas, [psnr(x + s * noise) for s in sigmas])
for label, (_, values) in curves.items():
    print(label, " ".join(f"{v:5.2f}" for v in values), "dB")
km.plot.psnr_vs_sigma(
    curves,
    input_psnr=input_psnr,
    training_range=(0.0, 10 / 255),
    path="06_psnr_vs_sigma.png",
)
