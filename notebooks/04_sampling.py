# %% [markdown]
# # 4. Sampling from the prior implicit in a denoiser
#
# Miyasawa's identity turns a denoiser into a score,
# $\nabla \log p_\sigma(y) = (\hat x(y) - y) / \sigma^2$, and a score is all
# Langevin dynamics needs to draw samples. Three samplers of
# `km.samplers`, side by side on an analytic 2-D Gaussian mixture whose exact
# denoisers are known (`km.priors.GaussianMixture`), so that we can see what
# each one actually samples:
#
# 1. `sample_with_denoiser`: the seed guide's Langevin loop, $y \leftarrow y +
#    \epsilon\, s(y, \sigma) + \sqrt{2\epsilon}\, z$ with a **fixed** step
#    $\epsilon$ while $\sigma$ decays geometrically;
# 2. `annealed_langevin` (Song & Ermon 2019): the step shrinks with the noise
#    level, $\alpha_i = \epsilon\, \sigma_i^2 / \sigma_L^2$, $T$ steps per level;
# 3. `coarse_to_fine` (Kadkhodaie & Simoncelli 2021): a *blind* denoiser, the
#    noise level read off the residual, $\sigma_t = \|\hat x(y_t) - y_t\| /
#    \sqrt N$, partial steps $h_t$ with injected noise controlled by $\beta$.

# %%
# writes: 04_samples.png 04_sigma_trajectories.png 04_annealed_paths.png
import keras
import matplotlib.pyplot as plt
import numpy as np

import keras_miyasawa as km

FAST = True  # False: more chains and longer schedules
keras.utils.set_random_seed(0)
num_chains = 500 if FAST else 2000

prior = km.priors.GaussianMixture(
    [0.2, 0.3, 0.5],
    [[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]],
    0.05,
)
means = np.array([[-1.5, -1.0], [1.5, -1.0], [0.0, 1.5]])
weights = np.array([0.2, 0.3, 0.5])
reference = np.asarray(prior.sample(num_chains, seed=0))


def summary(x):
    """Mixture weights by nearest mean, and the RMS distance to that mean."""
    x = np.asarray(x)
    distance = np.linalg.norm(x[:, None] - means, axis=-1)
    nearest = distance.argmin(-1)
    found = np.bincount(nearest, minlength=len(means)) / len(x)
    rms = np.sqrt(np.mean(distance.min(-1) ** 2))
    return f"weights {np.round(found, 2)} (prior {weights}), RMS to mode {rms:.3f}"


print("prior samples:", summary(reference))

# %% [markdown]
# ## 1. The seed's sampler: fixed step, decaying sigma
#
# With the exact noise-conditional denoiser of the prior. The default
# schedule decays sigma 0.99 per step; after $t$ steps the effective step on
# the residual, $\epsilon / \sigma_t^2$, has grown by $0.99^{-2t}$. Once
# $\sigma_t$ is small, the score $(\hat x - y)/\sigma_t^2$ is a float32
# rounding error divided by a tiny number, and the chains scatter instead of
# settling on the components.

# %%
seed_steps = 1000  # the guide's default
seed_samples, seed_path = km.samplers.sample_with_denoiser(
    prior,
    (num_chains, 2),
    sigma=1.0,
    num_steps=seed_steps,
    step_size=0.01,
    decay_rate=0.99,
    seed=1,
    trajectory_every=10,
)
print("seed sampler, exact denoiser:", summary(seed_samples))
seed_sigmas = 1.0 * 0.99 ** np.arange(seed_steps)
print(
    f"final sigma {seed_sigmas[-1]:.2e}; effective step on the residual "
    f"0.01 / sigma^2 = {0.01 / seed_sigmas[-1] ** 2:.1e}"
)

# %% [markdown]
# With a *blind* denoiser (here the exact MMSE denoiser when sigma is uniform
# over $[0, 1.5]$, which does not know the nominal sigma of the loop), the
# residual does not shrink with sigma, so the iteration overshoots and blows
# up. The sampler detects this and raises `DivergenceError` instead of
# returning NaN.

# %%
blind = prior.blind_denoiser((0.0, 1.5))
try:
    km.samplers.sample_with_denoiser(
        blind, (num_chains, 2), sigma=1.0, num_steps=seed_steps, seed=1
    )
    print("no divergence")
except km.samplers.DivergenceError as error:
    print("DivergenceError:", str(error)[:200])

# %% [markdown]
# ## 2. Annealed Langevin dynamics
#
# The step is proportional to $\sigma_i^2$, so the update on the residual
# stays the same size at every level, and at the last level the chains mix
# within the slightly smoothed prior. With the exact score this samples the
# prior (up to discretization): the weights match.

# %%
levels, per_level = (10, 100) if FAST else (20, 200)
annealed, annealed_path = km.samplers.annealed_langevin(
    prior,
    (num_chains, 2),
    sigma_max=3.0,
    sigma_min=0.05,
    num_levels=levels,
    steps_per_level=per_level,
    epsilon=1e-4,
    init_mean=0.0,
    seed=2,
    trajectory_every=10,
)
print("annealed Langevin:", summary(annealed))
annealed_sigmas = np.repeat(np.geomspace(3.0, 0.05, levels), per_level)

# %% [markdown]
# ## 3. Coarse-to-fine, with a blind denoiser
#
# No schedule: each chain measures its own noise level from the residual and
# stops when it falls below `sigma_L`. It is a stochastic *ascent*: with
# small `beta` it explores, with `beta = 1` it goes deterministically to a
# nearby mode. In 2-D the residual norm is a poor estimate of sigma (two
# numbers), so the weights are only roughly right; on images (thousands of
# values) the estimate is sharp.

# %%
blind = prior.blind_denoiser((0.0, 3.0))
c2f = {}
for beta in (0.01, 1.0):
    c2f[beta] = km.samplers.coarse_to_fine(
        blind,
        (num_chains, 2),
        h0=0.01,
        beta=beta,
        sigma_0=3.0,
        sigma_L=0.2,
        max_steps=1000,
        init_mean=0.0,
        seed=3,
    )
    result = c2f[beta]
    print(
        f"coarse-to-fine beta={beta}: {summary(result.samples)}; "
        f"steps {int(result.num_steps.min())}-{int(result.num_steps.max())}, "
        f"all converged: {bool(result.converged.all())}"
    )

# %% [markdown]
# Stopping at `sigma_L = 0.2` (about the components' std), the chains reach
# all three components with roughly the prior's weights, but they end on
# curves leading into the modes rather than spread like the prior: the final
# denoising step pulls each chain in, and it is an ascent, not an exact
# sampler. In two dimensions the estimated sigma is too noisy for `beta` to
# change much (`beta = 1` is deterministic); stopping lower, at
# `sigma_L = 0.05`, lets noisy estimates end chains early and the smallest
# component then gets almost no samples.

# %%
panels = {
    "prior (exact samples)": reference,
    f"seed sampler ({seed_steps} steps)": seed_samples,
    "annealed Langevin": annealed,
    "coarse-to-fine, beta=0.01": c2f[0.01].samples,
    "coarse-to-fine, beta=1": c2f[1.0].samples,
}
fig, axes = plt.subplots(1, len(panels), figsize=(4 * len(panels), 4))
for ax, (title, x) in zip(axes, panels.items()):
    x = np.asarray(x)
    ax.scatter(x[:, 0], x[:, 1], s=3, alpha=0.5)
    ax.scatter(means[:, 0], means[:, 1], marker="x", color="red")
    ax.set(title=title, xlim=(-3.5, 3.5), ylim=(-3.5, 3.5), aspect="equal")
fig.tight_layout()
fig.savefig("04_samples.png", dpi=70)

# %% [markdown]
# ## The noise levels the samplers walk through
#
# The seed's schedule is fixed in advance, and annealed Langevin's is a
# staircase; coarse-to-fine's $\sigma_t$ is measured per chain, and each chain
# stops on its own (a few chains drawn).

# %%
km.plot.sigma_trajectory(
    {
        "seed: sigma 0.99^t": seed_sigmas,
        "annealed: sigma_i": annealed_sigmas,
        **{
            f"coarse-to-fine beta=0.01, chain {i}": c2f[0.01].sigmas[i]
            for i in range(3)
        },
    },
    title="sigma_t per iteration",
    path="04_sigma_trajectories.png",
)
# %% [markdown]
# ## Annealed Langevin paths over the score field
#
# The exact score at the final level, with the paths of a few chains.

# %%
paths = np.asarray(annealed_path)[:, :8]
km.plot.score_vector_field(
    lambda p: km.score(prior, p, 0.3),
    extent=(-3.5, 3.5, -3.5, 3.5),
    trajectories=paths,
    title="score at sigma=0.3 and annealed Langevin paths",
    path="04_annealed_paths.png",
)
