from keras_miyasawa.layers.bias_free_batch_norm import BiasFreeBatchNorm
from keras_miyasawa.layers.bias_free_conv2d import BiasFreeConv2D
from keras_miyasawa.layers.bias_free_conv2d_transpose import BiasFreeConv2DTranspose

__all__ = ["BiasFreeBatchNorm", "BiasFreeConv2D", "BiasFreeConv2DTranspose"]
