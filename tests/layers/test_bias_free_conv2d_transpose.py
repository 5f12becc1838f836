import keras
import numpy as np
import pytest

from keras_miyasawa.layers import BiasFreeConv2DTranspose
from tests import test_case


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 4, "kernel_size": 4, "strides": 2}, (2, 5, 6, 3), (2, 10, 12, 4)),
        ({"filters": 2, "kernel_size": 3}, (1, 5, 6, 1), (1, 5, 6, 2)),
        (
            {"filters": 2, "kernel_size": 3, "padding": "valid"},
            (1, 5, 6, 1),
            (1, 7, 8, 2),
        ),
        (
            {"filters": 2, "kernel_size": 4, "strides": 2, "padding": 1},
            (1, 5, 6, 1),
            (1, 10, 12, 2),
        ),
    ],
)
def test_layer_basics(kwargs, input_shape, output_shape, tmp_path):
    layer = test_case.run_layer_test(
        BiasFreeConv2DTranspose, kwargs, input_shape, output_shape, 1, 0, tmp_path
    )
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel"]


def test_matches_keras_conv2d_transpose_without_bias():
    x = test_case.random_images((2, 5, 7, 3))
    ours = BiasFreeConv2DTranspose(4, 4, strides=2)
    reference = keras.layers.Conv2DTranspose(
        4, 4, strides=2, padding="same", use_bias=False
    )
    ours.build(x.shape)
    reference.build(x.shape)
    reference.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-6)


def test_int_padding_equals_same_for_kernel_4_stride_2():
    # PyTorch's ConvTranspose2d(4, stride=2, padding=1) is Keras' "same" here.
    x = test_case.random_images((1, 5, 6, 2))
    same = BiasFreeConv2DTranspose(3, 4, strides=2)
    cropped = BiasFreeConv2DTranspose(3, 4, strides=2, padding=1)
    same.build(x.shape)
    cropped.build(x.shape)
    cropped.set_weights(same.get_weights())
    np.testing.assert_allclose(cropped(x), same(x), atol=1e-6)


def test_bad_arguments():
    with pytest.raises(ValueError, match="use_bias=True"):
        BiasFreeConv2DTranspose(2, 3, use_bias=True)
    with pytest.raises(ValueError, match="dilation_rate"):
        BiasFreeConv2DTranspose(2, 3, strides=2, dilation_rate=2)
