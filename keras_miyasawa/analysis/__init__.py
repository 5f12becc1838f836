from keras_miyasawa.analysis.bias import homogeneity_error
from keras_miyasawa.analysis.bias import net_bias
from keras_miyasawa.analysis.jacobian import hutchinson_divergence
from keras_miyasawa.analysis.jacobian import jacobian_asymmetry
from keras_miyasawa.analysis.jacobian import jacobian_matrix
from keras_miyasawa.analysis.jacobian import jacobian_probe_statistics
from keras_miyasawa.analysis.jacobian import jvp
from keras_miyasawa.analysis.jacobian import rademacher_probes
from keras_miyasawa.analysis.jacobian import sure_mse
from keras_miyasawa.analysis.jacobian import vjp
from keras_miyasawa.analysis.spectrum import adaptive_filters
from keras_miyasawa.analysis.spectrum import effective_dimension
from keras_miyasawa.analysis.spectrum import jacobian_spectrum
from keras_miyasawa.analysis.spectrum import jacobian_symmetry_error

__all__ = [
    "adaptive_filters",
    "effective_dimension",
    "homogeneity_error",
    "hutchinson_divergence",
    "jacobian_asymmetry",
    "jacobian_matrix",
    "jacobian_probe_statistics",
    "jacobian_spectrum",
    "jacobian_symmetry_error",
    "jvp",
    "net_bias",
    "rademacher_probes",
    "sure_mse",
    "vjp",
]
