"""The result of the coarse-to-fine samplers."""

import collections


class SamplerResult(
    collections.namedtuple(
        "SamplerResult", ["samples", "sigmas", "num_steps", "converged", "trajectory"]
    )
):
    """What `coarse_to_fine` and `solve_inverse_problem` return.

    Attributes:
        samples: `(batch, ...)` tensor, the final samples (after the final
            denoising step and projection, when requested).
        sigmas: `(batch, T)` NumPy array, the effective noise level
            `sigma_t = ||d_t|| / sqrt(N)` of each chain at each iteration `t`
            (`T` is the longest chain's count). Entries after a chain stopped
            are 0.
        num_steps: `(batch,)` NumPy int array, the iterations of each chain.
        converged: `(batch,)` NumPy bool array, whether each chain reached
            `sigma_t <= sigma_L` within `max_steps`.
        trajectory: `(R, batch, ...)` tensor of the intermediate `y_t` every
            `trajectory_every` iterations (starting with `y_0`), or `None`.
    """

    __slots__ = ()
