"""Statistics for the sampler tests: a permutation two-sample test and
mixture summaries."""

import numpy as np


def energy_distance_test(x, y, num_permutations=200, seed=0):
    """Energy-distance two-sample test (Szekely & Rizzo) by permutation.

    Returns `(statistic, p_value)`. All permutations are evaluated at once as
    quadratic forms of the pooled distance matrix, so 2,000 + 2,000 samples
    take a fraction of a second.
    """
    z = np.concatenate([x, y]).astype("float32").reshape(len(x) + len(y), -1)
    n, m = len(x), len(y)
    sq = np.sum(z * z, axis=1)
    distances = np.sqrt(np.maximum(sq[:, None] + sq[None, :] - 2.0 * z @ z.T, 0.0))
    rng = np.random.default_rng(seed)
    labels = np.r_[np.ones(n), np.zeros(m)].astype("float32")
    labels = np.stack(
        [labels] + [rng.permutation(labels) for _ in range(num_permutations)]
    )
    a = labels / n
    b = (1.0 - labels) / m
    ad = a @ distances
    bd = b @ distances
    stats = 2.0 * np.sum(ad * b, 1) - np.sum(ad * a, 1) - np.sum(bd * b, 1)
    p_value = (1 + np.sum(stats[1:] >= stats[0])) / (1 + num_permutations)
    return float(stats[0]), float(p_value)


def mixture_summary(prior, means, stds, x):
    """Assigns samples to components; returns weights, mean errors, distances.

    - weights: the fraction of samples assigned to each component (by the
      prior's own posterior at a negligible noise level);
    - mean_errors: per component, the RMS over coordinates of (sample mean -
      component mean), in units of the component std;
    - distances: per sample, the RMS over coordinates of (x - its component's
      mean), in units of that component's std (about 1 for exact samples).
    """
    x = np.asarray(x, dtype="float64").reshape(len(x), -1)
    means = np.asarray(means).reshape(len(means), -1)
    assigned = np.asarray(prior.posterior(x.astype("float32"), 1e-3)).argmax(axis=1)
    weights = np.bincount(assigned, minlength=len(means)) / len(x)
    mean_errors = np.array(
        [
            np.sqrt(np.mean((x[assigned == k].mean(axis=0) - means[k]) ** 2)) / stds[k]
            if np.any(assigned == k)
            else np.inf
            for k in range(len(means))
        ]
    )
    distances = np.sqrt(np.mean((x - means[assigned]) ** 2, axis=1)) / stds[assigned]
    return weights, mean_errors, distances


def three_component_mixture(dim, seed=0, std_scale=1.0, weights=(0.2, 0.3, 0.5)):
    """A fixed, well-separated 3-component isotropic mixture in `dim` dimensions."""
    import keras_miyasawa as km

    rng = np.random.default_rng(seed)
    means = rng.normal(size=(3, dim)) * 4.0 / np.sqrt(dim)
    stds = np.array([0.3, 0.4, 0.5]) * std_scale
    prior = km.priors.GaussianMixture(np.array(weights), means, stds**2)
    return prior, means, stds
