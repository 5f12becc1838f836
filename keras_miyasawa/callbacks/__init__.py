from keras_miyasawa.callbacks.miyasawa_monitor import MiyasawaMonitor
from keras_miyasawa.callbacks.noise_level_sweep import NoiseLevelSweep

__all__ = ["MiyasawaMonitor", "NoiseLevelSweep"]
