import keras
import numpy as np
import pytest

from keras_miyasawa.layers import BiasFreeConv2D
from tests import test_case


@pytest.mark.parametrize(
    "kwargs, input_shape, output_shape",
    [
        ({"filters": 4, "kernel_size": 3}, (2, 9, 8, 3), (2, 9, 8, 4)),
        ({"filters": 4, "kernel_size": 3, "strides": 2}, (2, 9, 8, 3), (2, 5, 4, 4)),
        (
            {"filters": 2, "kernel_size": 3, "padding": "valid"},
            (1, 9, 8, 1),
            (1, 7, 6, 2),
        ),
        (
            {"filters": 2, "kernel_size": 3, "strides": 2, "padding": 1},
            (1, 8, 8, 1),
            (1, 4, 4, 2),
        ),
        (
            {"filters": 2, "kernel_size": 3, "dilation_rate": 2},
            (1, 9, 8, 1),
            (1, 9, 8, 2),
        ),
    ],
)
def test_layer_basics(kwargs, input_shape, output_shape, tmp_path):
    layer = test_case.run_layer_test(
        BiasFreeConv2D, kwargs, input_shape, output_shape, 1, 0, tmp_path
    )
    assert [w.path.split("/")[-1] for w in layer.weights] == ["kernel"]


def test_matches_keras_conv2d_without_bias():
    x = test_case.random_images((2, 10, 11, 3))
    ours = BiasFreeConv2D(5, 3, strides=2)
    reference = keras.layers.Conv2D(5, 3, strides=2, padding="same", use_bias=False)
    ours.build(x.shape)
    reference.build(x.shape)
    reference.set_weights(ours.get_weights())
    np.testing.assert_allclose(ours(x), reference(x), atol=1e-6)


def test_int_padding_is_symmetric():
    # A centred delta kernel with padding=1 must return the input unchanged.
    layer = BiasFreeConv2D(1, 3, padding=1, kernel_initializer="zeros")
    x = test_case.random_images((1, 6, 6, 1))
    layer.build(x.shape)
    kernel = np.zeros((3, 3, 1, 1), "float32")
    kernel[1, 1] = 1.0
    layer.set_weights([kernel])
    np.testing.assert_allclose(layer(x), x, atol=1e-7)


def test_homogeneous():
    layer = BiasFreeConv2D(4, 3)
    x = test_case.random_images((1, 8, 8, 2))
    np.testing.assert_allclose(layer(3.0 * x), 3.0 * np.asarray(layer(x)), rtol=1e-5)


def test_mixed_precision():
    keras.config.set_dtype_policy("mixed_bfloat16")
    layer = BiasFreeConv2D(4, 3)
    y = layer(test_case.random_images((1, 8, 8, 2)))
    assert keras.backend.standardize_dtype(y.dtype) == "bfloat16"
    assert layer.kernel.dtype == "float32"


@pytest.mark.parametrize(
    "kwargs, match",
    [
        ({"filters": 4, "kernel_size": 3, "use_bias": True}, "use_bias=True"),
        ({"filters": 0, "kernel_size": 3}, "filters=0"),
        ({"filters": 4, "kernel_size": (3, 3, 3)}, "kernel_size"),
        ({"filters": 4, "kernel_size": 3, "padding": "causal"}, "padding='causal'"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        BiasFreeConv2D(**kwargs)


def test_wrong_rank_is_clear():
    with pytest.raises(ValueError, match="ndim=4|expected ndim"):
        BiasFreeConv2D(2, 3)(np.zeros((4, 4, 1), "float32"))
