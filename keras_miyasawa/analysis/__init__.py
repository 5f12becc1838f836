from keras_miyasawa.analysis.jacobian import hutchinson_divergence
from keras_miyasawa.analysis.jacobian import jacobian_asymmetry
from keras_miyasawa.analysis.jacobian import jacobian_probe_statistics
from keras_miyasawa.analysis.jacobian import jvp
from keras_miyasawa.analysis.jacobian import rademacher_probes
from keras_miyasawa.analysis.jacobian import sure_mse
from keras_miyasawa.analysis.jacobian import vjp

__all__ = [
    "hutchinson_divergence",
    "jacobian_asymmetry",
    "jacobian_probe_statistics",
    "jvp",
    "rademacher_probes",
    "sure_mse",
    "vjp",
]
