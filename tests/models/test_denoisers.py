"""Properties every denoiser in the zoo must have: DnCNN and UNet alike."""

import keras
import numpy as np
import pytest

from keras_miyasawa.models import DnCNN
from keras_miyasawa.models import UNet
from tests import test_case

# (class, kwargs): default and small configs, gray and colour.
CONFIGS = [
    (DnCNN, {}),
    (DnCNN, {"depth": 4, "filters": 8}),
    (DnCNN, {"channels": 3, "depth": 4, "filters": 8}),
    (DnCNN, {"depth": 3, "filters": 4, "batch_norm": False}),
    (UNet, {}),
    (UNet, {"channels": 3, "filters": 8}),
    (UNet, {"filters": 4, "levels": 2, "batch_norm": True}),
    (UNet, {"channels": 3, "filters": 4, "levels": 3, "residual": False}),
]
SIZES = [(16, 16), (13, 21)]  # even and odd
BIAS_FREE_WEIGHTS = {"kernel", "gamma", "moving_variance"}


def _id(config):
    cls, kwargs = config
    return cls.__name__ + "-" + "-".join(f"{k}={v}" for k, v in kwargs.items())


def _images(model, size, seed=0, batch=2):
    return test_case.random_images((batch, *size, model.channels), seed)


def _perturb_batch_norm(model, seed=0):
    """Sets non-trivial moving statistics, as after training."""
    rng = np.random.default_rng(seed)
    for weight in model.non_trainable_weights:
        weight.assign(rng.uniform(0.2, 2.0, size=weight.shape).astype("float32"))


@pytest.mark.parametrize("config", CONFIGS, ids=_id)
def test_bias_free_model_is_homogeneous(config):
    cls, kwargs = config
    model = cls(**kwargs)
    _perturb_batch_norm(model)
    for size in SIZES:
        y = _images(model, size)
        assert tuple(model(y).shape) == y.shape
        assert test_case.max_homogeneity_error(model, y) <= 1e-5


@pytest.mark.parametrize("config", CONFIGS, ids=_id)
def test_bias_free_model_has_no_additive_weight(config):
    cls, kwargs = config
    model = cls(**kwargs)
    names = {w.path.split("/")[-1] for w in model.weights}
    assert names <= BIAS_FREE_WEIGHTS
    assert model.bias_free


@pytest.mark.parametrize("config", CONFIGS, ids=_id)
def test_biased_twin_fails_homogeneity(config):
    cls, kwargs = config
    model = cls(bias_free=False, **kwargs)
    # Keras zero-initializes biases; give them values, as training would.
    rng = np.random.default_rng(1)
    for weight in model.weights:
        if weight.path.endswith(("bias", "beta")):
            weight.assign(rng.normal(0.0, 0.1, size=weight.shape).astype("float32"))
    names = {w.path.split("/")[-1] for w in model.weights}
    assert "bias" in names
    y = _images(model, SIZES[1])
    assert test_case.max_homogeneity_error(model, y) > 1e-3


@pytest.mark.parametrize(
    "cls, kwargs",
    [(DnCNN, {"depth": 4, "filters": 8}), (UNet, {"filters": 4, "batch_norm": True})],
)
def test_homogeneous_after_training_steps(cls, kwargs):
    model = cls(**kwargs)
    model.compile(optimizer=keras.optimizers.Adam(1e-2), loss="mse")
    rng = np.random.default_rng(0)
    clean = rng.uniform(size=(8, 16, 16, 1)).astype("float32")
    noisy = clean + rng.normal(0, 0.1, size=clean.shape).astype("float32")
    before = [w.numpy().copy() for w in model.weights]
    model.fit(noisy, clean, batch_size=4, epochs=2, verbose=0)
    assert any(not np.array_equal(b, w.numpy()) for b, w in zip(before, model.weights))
    assert test_case.max_homogeneity_error(model, noisy[:2]) <= 1e-5


@pytest.mark.parametrize("config", CONFIGS[1:4] + CONFIGS[5:], ids=_id)
@pytest.mark.parametrize("bias_free", [True, False])
def test_keras_and_config_round_trip(config, bias_free, tmp_path):
    cls, kwargs = config
    model = cls(bias_free=bias_free, **kwargs)
    _perturb_batch_norm(model)
    y = _images(model, SIZES[1])
    reloaded = test_case.assert_keras_round_trip(model, y, tmp_path)
    assert type(reloaded) is cls
    clone = test_case.assert_config_round_trip(model)
    assert clone.count_params() == model.count_params()


def test_residual_connection():
    model = DnCNN(depth=3, filters=4)
    for weight in model.trainable_weights:
        weight.assign(np.zeros(weight.shape, "float32"))
    y = _images(model, SIZES[0])
    np.testing.assert_array_equal(model(y), y)  # r(y) = 0 => x_hat = y


def test_dncnn_defaults_are_the_papers():
    model = DnCNN()
    convs = [layer for layer in model.layers if "conv" in layer.name]
    assert len(convs) == 20
    assert all(layer.kernel_size == (3, 3) for layer in convs)
    assert {layer.filters for layer in convs[:-1]} == {64}
    assert len([layer for layer in model.layers if "_bn_" in layer.name]) == 18


def test_unet_default_holds_reference_weights():
    # Mohan et al.'s BF-UNet: conv1..conv9 kernel shapes, torch (out, in, kh, kw).
    reference = [
        (32, 1, 5, 5),
        (32, 32, 3, 3),
        (64, 32, 3, 3),
        (64, 64, 3, 3),
        (64, 64, 3, 3),
        (64, 64, 3, 3),
        (64, 64, 4, 4),  # transposed: (in, out, kh, kw)
        (32, 96, 3, 3),
        (1, 32, 5, 5),
    ]
    model = UNet(residual=False)
    kernels = [w.shape for w in model.weights]
    assert [
        tuple(np.transpose(np.zeros(s), (2, 3, 1, 0)).shape) for s in reference
    ] == [tuple(k) for k in kernels]


def test_mixed_precision_model():
    model = DnCNN(depth=3, filters=4, dtype="mixed_bfloat16")
    out = model(_images(model, SIZES[1]))
    assert keras.backend.standardize_dtype(out.dtype) == "bfloat16"
    assert all(w.dtype == "float32" for w in model.weights)
    clone = test_case.assert_config_round_trip(model)
    assert clone.dtype_policy.name == "mixed_bfloat16"


@pytest.mark.parametrize("cls", [DnCNN, UNet])
def test_with_dtype_keeps_the_weights(cls):
    model = cls(**({"depth": 3, "filters": 4} if cls is DnCNN else {"filters": 4}))
    images = _images(model, SIZES[1])
    half = model.with_dtype("mixed_bfloat16")
    back = half.with_dtype("float32")
    assert (half.dtype_policy.name, back.dtype_policy.name) == (
        "mixed_bfloat16",
        "float32",
    )
    for copy in (half, back):
        for a, b in zip(copy.weights, model.weights):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(back(images), model(images))
    np.testing.assert_allclose(
        np.asarray(half(images), "float32"), model(images), atol=0.03
    )


@pytest.mark.parametrize("cls", [DnCNN, UNet])
def test_bad_inputs_are_clear(cls):
    model = cls(channels=1, **({"depth": 3, "filters": 4} if cls is DnCNN else {}))
    with pytest.raises(TypeError, match="dtype uint8"):
        model(np.zeros((1, 8, 8, 1), "uint8"))
    with pytest.raises(ValueError, match="rank 4"):
        model(np.zeros((8, 8, 1), "float32"))
    with pytest.raises(ValueError, match="1 channel"):
        model(np.zeros((1, 8, 8, 3), "float32"))
    with pytest.raises(ValueError, match="empty batch"):
        model(np.zeros((0, 8, 8, 1), "float32"))


@pytest.mark.parametrize(
    "cls, kwargs, match",
    [
        (DnCNN, {"channels": 2}, "channels=2"),
        (DnCNN, {"depth": 1}, "depth=1"),
        (DnCNN, {"filters": 0}, "filters=0"),
        (UNet, {"levels": 0}, "levels=0"),
        (UNet, {"channels": 4}, "channels=4"),
    ],
)
def test_bad_constructor_arguments(cls, kwargs, match):
    with pytest.raises(ValueError, match=match):
        cls(**kwargs)
