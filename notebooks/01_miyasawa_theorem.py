# %% [markdown]
# # 1. Miyasawa's theorem, verified
#
# For a noisy observation $y = x + e$ with $e \sim N(0, \sigma^2 I)$, the
# least-squares (MMSE) denoiser is the posterior mean, and Miyasawa (1961)
# showed that it is the observation plus a scaled score of the noisy density
# $p_\sigma = p * N(0, \sigma^2 I)$:
#
# $$\hat x(y) = E[x \mid y] = y + \sigma^2 \nabla_y \log p_\sigma(y).$$
#
# So a denoiser *is* a score estimator. This notebook checks the identity on
# analytic Gaussian mixtures, where both sides have closed forms
# (`km.priors.GaussianMixture`), then trains a small network with `fit` and
# compares its learned score, read off with `km.extract_score_function`, to the
# exact one.

# %%
# writes: 01_mixture_1d.png 01_score_field_2d.png 01_learned_score.png
import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_miyasawa as km

FAST = True  # False: more training data and epochs (a few minutes on CPU)
keras.utils.set_random_seed(0)

# %% [markdown]
# ## 1-D: a two-component mixture
#
# $E[x \mid y]$ comes from the posterior responsibilities of the components;
# the score from the derivative of the log of the mixture density smoothed by
# the noise. Both are computed by the prior; they agree to float32 precision.

# %%
prior_1d = km.priors.GaussianMixture([0.3, 0.7], [[-2.0], [2.0]], 0.1)
y = np.linspace(-5, 5, 401, dtype="float32")[:, None]

fig, axes = plt.subplots(1, 2, figsize=(10, 4))
for sigma in (0.25, 0.5, 1.0, 2.0):
    x_hat = np.asarray(prior_1d.denoise(y, sigma))
    via_score = y + sigma**2 * np.asarray(prior_1d.score(y, sigma))
    print(
        f"sigma={sigma:4}: max |E[x|y] - (y + s^2 score)| = "
        f"{np.max(np.abs(x_hat - via_score)):.2e}"
    )
    axes[0].plot(y[:, 0], x_hat[:, 0], label=f"E[x|y], sigma={sigma}")
    axes[0].plot(y[:, 0], via_score[:, 0], "k:", lw=1)
    axes[1].plot(
        y[:, 0], np.asarray(prior_1d.score(y, sigma))[:, 0], label=f"sigma={sigma}"
    )
axes[0].plot(y[:, 0], y[:, 0], color="gray", lw=0.5)
axes[0].set(xlabel="y", title="E[x|y] (colour) and y + sigma^2 score (dotted)")
axes[0].legend(fontsize=8)
axes[1].set(xlabel="y", ylim=(-10, 10), title="score grad log p_sigma(y)")
axes[1].legend(fontsize=8)
fig.tight_layout()
fig.savefig("01_mixture_1d.png", dpi=80)

# %% [markdown]
# ## 2-D: a three-component mixture
#
# The same check on a grid of 2-D points, and the score field itself
# (`km.score(prior, points, sigma)`): arrows point towards the modes of the
# smoothed density, and `sigma^2` times the arrow is the denoiser's step.

# %%
prior = km.priors.GaussianMixture(
    [0.2, 0.3, 0.5],
    [[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]],
    [0.05, 0.05, 0.1],
)
sigma = 0.5
g = np.linspace(-3, 3, 41, dtype="float32")
points = np.stack(np.meshgrid(g, g), -1).reshape(-1, 2)
gap = np.asarray(prior.denoise(points, sigma)) - (
    points + sigma**2 * np.asarray(prior.score(points, sigma))
)
print(f"2-D, sigma={sigma}: max |E[x|y] - (y + s^2 score)| = {np.abs(gap).max():.2e}")

km.plot.score_vector_field(
    lambda p: km.score(prior, p, sigma),
    title=f"exact score of the mixture at sigma={sigma}",
    path="01_score_field_2d.png",
)

# %% [markdown]
# ## A network learns the score with `fit`
#
# Train a small MLP to denoise samples of the mixture at the fixed noise level
# `sigma` with the MSE loss. Its minimizer is $E[x \mid y]$, so by Miyasawa
# its residual divided by $\sigma^2$ should be the score. We compare it to
# the exact score on noisy samples $y \sim p_\sigma$, where the data is (the
# network never sees the empty regions far from the modes).

# %%
num_train = 20_000 if FAST else 200_000
epochs = 15 if FAST else 60
clean = np.asarray(prior.sample(num_train, seed=1))
noisy = clean + sigma * np.random.default_rng(2).standard_normal(clean.shape)
noisy = noisy.astype("float32")

inputs = keras.Input((2,))
h = keras.layers.Dense(64, activation="relu")(inputs)
h = keras.layers.Dense(64, activation="relu")(h)
h = keras.layers.Dense(64, activation="relu")(h)
outputs = keras.layers.Add()([inputs, keras.layers.Dense(2)(h)])  # y + residual
net = keras.Model(inputs, outputs, name="mlp_denoiser")
net.compile(optimizer=keras.optimizers.Adam(3e-3), loss="mse")
history = net.fit(noisy, clean, batch_size=256, epochs=epochs, verbose=0)
print(f"final training MSE: {history.history['loss'][-1]:.4f}")

# %%
test_clean = np.asarray(prior.sample(2000, seed=3))
test = test_clean + sigma * np.random.default_rng(4).standard_normal((2000, 2))
test = test.astype("float32")
learned = np.asarray(km.extract_score_function(net, test, sigma))
exact = np.asarray(prior.score(test, sigma))
relative_error = np.linalg.norm(learned - exact) / np.linalg.norm(exact)
print(f"relative error of the learned score on y ~ p_sigma: {relative_error:.3f}")
mmse = np.mean((np.asarray(prior.denoise(test, sigma)) - test_clean) ** 2)
net_mse = np.mean((np.asarray(net(test)) - test_clean) ** 2)
print(f"test MSE: network {net_mse:.4f}, exact MMSE denoiser {mmse:.4f}")
assert relative_error < 0.3

# %%
km.plot.score_vector_field(
    lambda p: km.extract_score_function(net, np.asarray(p, "float32"), sigma),
    title=f"learned score (x_hat - y) / sigma^2, rel. error {relative_error:.2f}",
    path="01_learned_score.png",
)
