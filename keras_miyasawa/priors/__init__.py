from keras_miyasawa.priors.blind_mmse_denoiser import BlindMMSEDenoiser
from keras_miyasawa.priors.empirical import Empirical
from keras_miyasawa.priors.gaussian import Gaussian
from keras_miyasawa.priors.gaussian_mixture import GaussianMixture
from keras_miyasawa.priors.prior import Prior

__all__ = ["BlindMMSEDenoiser", "Empirical", "Gaussian", "GaussianMixture", "Prior"]
