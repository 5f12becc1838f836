from keras_miyasawa.samplers.annealed_langevin import annealed_langevin
from keras_miyasawa.samplers.coarse_to_fine import coarse_to_fine
from keras_miyasawa.samplers.divergence_error import DivergenceError
from keras_miyasawa.samplers.red import red
from keras_miyasawa.samplers.sample_with_denoiser import sample_with_denoiser
from keras_miyasawa.samplers.sampler_result import SamplerResult
from keras_miyasawa.samplers.solve_inverse_problem import solve_inverse_problem

__all__ = [
    "DivergenceError",
    "SamplerResult",
    "annealed_langevin",
    "coarse_to_fine",
    "red",
    "sample_with_denoiser",
    "solve_inverse_problem",
]
