import warnings

import numpy as np
import pytest

import keras_miyasawa as km
from keras_miyasawa.samplers import _common
from tests.samplers import stats


def test_parity_with_reference_synthesis(reference_denoiser, parity_runs):
    """beta = 1 from the reference start retraces the reference run."""
    result = km.samplers.coarse_to_fine(
        reference_denoiser,
        init=parity_runs["synth_y0"],
        h0=0.01,
        beta=1.0,
        sigma_L=0.01,
        seed=0,
    )
    expected = parity_runs["synth_sigmas"]
    assert int(result.num_steps[0]) == len(expected)
    np.testing.assert_allclose(result.sigmas[0], expected, atol=1e-3)
    assert result.converged[0]
    max_error = np.max(np.abs(np.asarray(result.samples) - parity_runs["synth_output"]))
    assert max_error <= 1e-3


@pytest.mark.parametrize(
    "dim, std_scale, sigma_max, num_nodes, chains, sigma_0, sigma_L",
    [(16, 1.0, 6.0, 16, 600, 4.0, 0.01), (2, 0.3, 2.0, 32, 400, 2.0, 0.001)],
)
def test_blind_gaussian_mixture_small_beta_lands_near_components_with_weights(
    dim, std_scale, sigma_max, num_nodes, chains, sigma_0, sigma_L
):
    """An ascent, not an exact sampler: within 3 std of a component, weights
    within 0.1.

    The blind oracle's sigma range must suit the dimension: in 16-D the
    effective noise level ||d|| / sqrt(N) is a good estimate over a wide range;
    in 2-D it fluctuates, and with a range much wider than the data's spread
    (the means are about 3 apart), say (0, 6), the 2-D blind MMSE denoiser
    shrinks every chain to one point (see the sampler's docstring).
    """
    prior, means, stds = stats.three_component_mixture(dim, std_scale=std_scale)
    blind = prior.blind_denoiser((0.0, sigma_max), num_nodes=num_nodes)
    result = km.samplers.coarse_to_fine(
        blind,
        (chains, dim),
        h0=0.05,
        beta=0.05,
        sigma_0=sigma_0,
        sigma_L=sigma_L,
        init_mean=0.0,
        seed=0,
    )
    assert result.converged.all()
    weights, _, distances = stats.mixture_summary(prior, means, stds, result.samples)
    np.testing.assert_allclose(weights, prior.weights, atol=0.1)
    assert distances.max() <= 3.0


def test_blind_gaussian_mixture_2d_beta_one_collapses_to_modes():
    """beta = 1 is a noise-free ascent: each chain ends at a mode.

    Exact samples of the mixture sit about one std from their component's mean
    (median 0.84 in 2-D); the ascent ends within a quarter of a std of it, and
    the chains of one component end on one point (to 3% of its std).
    """
    prior, means, stds = stats.three_component_mixture(2, std_scale=0.3)
    blind = prior.blind_denoiser((0.0, 1.0), num_nodes=32)
    start = np.random.default_rng(0).normal(size=(200, 2)).astype("float32")
    kwargs = dict(init=start, h0=0.05, beta=1.0, sigma_L=0.001)
    result = km.samplers.coarse_to_fine(blind, seed=0, **kwargs)
    assert result.converged.all()
    samples = np.asarray(result.samples)
    weights, _, distances = stats.mixture_summary(prior, means, stds, samples)
    _, _, exact = stats.mixture_summary(prior, means, stds, prior.sample(1000, seed=0))
    assert np.median(exact) > 0.7
    assert distances.max() < 0.25
    assert np.all(weights > 0.1)  # the chains reach every component
    assigned = np.asarray(prior.posterior(samples, 1e-3)).argmax(axis=1)
    for k in range(3):
        spread = np.sqrt(np.mean(np.var(samples[assigned == k], axis=0)))
        assert spread < 0.03 * stds[k], k
    # No noise is injected: from the same start, another seed changes nothing.
    again = km.samplers.coarse_to_fine(blind, seed=1, **kwargs)
    np.testing.assert_array_equal(again.samples, samples)


def test_chains_stop_on_their_own_and_stay_frozen():
    prior, _, _ = stats.three_component_mixture(16)
    blind = prior.blind_denoiser((0.0, 6.0), num_nodes=16)
    result = km.samplers.coarse_to_fine(
        blind,
        (8, 16),
        h0=0.05,
        beta=0.5,
        sigma_0=4.0,
        sigma_L=0.01,
        init_mean=0.0,
        seed=1,
        trajectory_every=1,
        final_denoise=False,
    )
    steps = result.num_steps
    assert len(set(steps.tolist())) > 1
    assert result.sigmas.shape == (8, steps.max())
    trajectory = np.asarray(result.trajectory)
    for chain, n in enumerate(steps):
        sigmas = result.sigmas[chain]
        assert np.all(sigmas[: n - 1] > 0.01) and 0 < sigmas[n - 1] <= 0.01
        assert np.all(sigmas[n:] == 0)
        # No update after the last step: y stays at y_{n-1}.
        frozen = trajectory[n - 1 :, chain]
        assert np.array_equal(frozen, np.broadcast_to(frozen[0], frozen.shape))
        np.testing.assert_array_equal(trajectory[-1, chain], result.samples[chain])


def test_max_steps_bounds_the_loop_and_warns():
    prior, _, _ = stats.three_component_mixture(16)
    blind = prior.blind_denoiser((0.0, 6.0), num_nodes=8)
    with pytest.warns(RuntimeWarning, match="did not reach sigma_L"):
        result = km.samplers.coarse_to_fine(
            blind, (4, 16), sigma_0=4.0, init_mean=0.0, max_steps=5, seed=0
        )
    assert np.all(result.num_steps == 5)
    assert not result.converged.any()
    assert np.isfinite(np.asarray(result.samples)).all()


def test_same_seed_same_samples_and_one_trace():
    model = km.models.DnCNN(depth=3, filters=8)
    before = _common.TRACE_COUNTS["coarse_to_fine"]
    kwargs = dict(sample_shape=(2, 8, 8, 1), max_steps=6, sigma_L=1e-6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        a = km.samplers.coarse_to_fine(model, seed=3, **kwargs)
        b = km.samplers.coarse_to_fine(model, seed=3, **kwargs)
        c = km.samplers.coarse_to_fine(model, seed=4, **kwargs)
        # New hyperparameter values and a same-shaped batch: no retrace.
        km.samplers.coarse_to_fine(
            model,
            seed=5,
            h0=0.05,
            beta=0.3,
            sigma_0=2.0,
            sigma_L=1e-5,
            max_steps=3,
            init_mean=0.2,
            sample_shape=(2, 8, 8, 1),
        )
    np.testing.assert_array_equal(a.samples, b.samples)
    np.testing.assert_array_equal(a.sigmas, b.sigmas)
    assert not np.allclose(a.samples, c.samples)
    assert _common.TRACE_COUNTS["coarse_to_fine"] - before == 1


def test_jit_compile_matches_graph_mode():
    model = km.models.DnCNN(depth=3, filters=8)
    kwargs = dict(sample_shape=(2, 8, 8, 1), max_steps=4, sigma_L=1e-6, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        graph = km.samplers.coarse_to_fine(model, **kwargs)
        xla = km.samplers.coarse_to_fine(model, jit_compile=True, **kwargs)
    np.testing.assert_allclose(xla.samples, graph.samples, atol=1e-4)
    np.testing.assert_allclose(xla.sigmas, graph.sigmas, rtol=1e-4)


def test_divergence_is_reported_not_returned():
    def exploding(y):
        return y * 1e30 + 1e30  # inf after a few steps

    with pytest.raises(km.samplers.DivergenceError, match="NaN or inf at step") as info:
        km.samplers.coarse_to_fine(exploding, (3, 4), h0=0.5, seed=0)
    assert info.value.chains == [0, 1, 2]
    assert info.value.step >= 1


def test_rejects_noise_conditional_denoisers_and_bad_arguments():
    prior, _, _ = stats.three_component_mixture(2)
    with pytest.raises(TypeError, match="blind_denoiser"):
        km.samplers.coarse_to_fine(prior, (2, 2))
    blind = prior.blind_denoiser((0.0, 2.0))
    with pytest.raises(ValueError, match=r"h0 must be in \(0.0, 1.0\]. Received: h0=0"):
        km.samplers.coarse_to_fine(blind, (2, 2), h0=0)
    with pytest.raises(ValueError, match="beta must be in"):
        km.samplers.coarse_to_fine(blind, (2, 2), beta=1.5)
    with pytest.raises(ValueError, match="sigma_L must be in"):
        km.samplers.coarse_to_fine(blind, (2, 2), sigma_L=2.0)
    with pytest.raises(ValueError, match="needs sample_shape or init"):
        km.samplers.coarse_to_fine(blind)
    with pytest.raises(ValueError, match="init must be finite"):
        km.samplers.coarse_to_fine(blind, init=np.full((2, 2), np.nan))


def _model_with_batch_norm_statistics(seed):
    """A small BF-DnCNN whose batch norms are not the identity."""
    model = km.models.DnCNN(depth=4, filters=8)
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if isinstance(layer, km.layers.BiasFreeBatchNorm):
            gamma, variance = layer.get_weights()
            layer.set_weights(
                [
                    rng.uniform(0.5, 2.0, gamma.shape),
                    rng.uniform(0.5, 4.0, variance.shape),
                ]
            )
    return model


def test_folded_batch_norm_same_samples_one_trace_and_never_stale():
    model = _model_with_batch_norm_statistics(0)
    kwargs = dict(sample_shape=(2, 8, 8, 1), max_steps=5, sigma_L=1e-6, seed=0)
    before = _common.TRACE_COUNTS["coarse_to_fine"]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        plain = km.samplers.coarse_to_fine(model, fold_batch_norm=False, **kwargs)
        folded = km.samplers.coarse_to_fine(model, **kwargs)
        np.testing.assert_allclose(folded.samples, plain.samples, atol=1e-4)
        np.testing.assert_allclose(folded.sigmas, plain.sigmas, rtol=1e-4)
        # New weights (as after more training): refolded, not retraced.
        model.set_weights(_model_with_batch_norm_statistics(1).get_weights())
        retrained = km.samplers.coarse_to_fine(model, **kwargs)
        expected = km.samplers.coarse_to_fine(model, fold_batch_norm=False, **kwargs)
    assert not np.allclose(retrained.samples, folded.samples, atol=1e-3)
    np.testing.assert_allclose(retrained.samples, expected.samples, atol=1e-4)
    # One trace for the folded copy and one for the model itself.
    assert _common.TRACE_COUNTS["coarse_to_fine"] - before == 2
