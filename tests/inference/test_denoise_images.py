import os
import subprocess
import sys
import textwrap
from pathlib import Path

import keras
import numpy as np
import pytest
import tensorflow as tf

import keras_miyasawa as km
from keras_miyasawa.inference import _inference_model

ROOT = Path(__file__).resolve().parents[2]


def _trained_like(model):
    """Gives every batch norm non-trivial statistics, as after training."""
    rng = np.random.default_rng(5)
    for layer in model.layers:
        if isinstance(layer, km.layers.BiasFreeBatchNorm):
            layer.moving_variance.assign(
                rng.uniform(0.5, 2.0, layer.moving_variance.shape)
            )
            layer.gamma.assign(rng.uniform(0.5, 1.5, layer.gamma.shape))
    return model


@pytest.fixture
def model():
    return _trained_like(km.models.DnCNN(depth=4, filters=8))


@pytest.fixture
def images():
    rng = np.random.default_rng(0)
    shapes = [(12, 12, 1), (9, 14, 1), (12, 12, 1), (12, 12, 1), (9, 14, 1)]
    return [rng.uniform(size=shape).astype("float32") for shape in shapes]


def _one_by_one(model, images):
    return [np.asarray(model(image[None], training=False))[0] for image in images]


def test_folded_equals_unfolded(model, images):
    folded = km.inference.denoise_images(model, images, fold=True)
    unfolded = km.inference.denoise_images(model, images, fold=False)
    for a, b, c in zip(folded, unfolded, _one_by_one(model, images)):
        np.testing.assert_allclose(a, b, atol=1e-5)
        np.testing.assert_allclose(b, c, atol=1e-6)
    runner = _inference_model.inference_model(
        model, True, False, "float32", tf.distribute.get_strategy()
    )
    assert runner.model is not model and not runner.model.batch_norm


def test_batches_equal_one_by_one_and_keep_structure(model, images):
    batched = km.inference.denoise_images(model, images, batch_size=3)
    single = km.inference.denoise_images(model, images, batch_size=1)
    assert isinstance(batched, list) and len(batched) == len(images)
    for a, b, image in zip(batched, single, images):
        assert a.shape == image.shape and a.dtype == np.float32
        np.testing.assert_allclose(a, b, atol=1e-6)
    stack = np.stack(images[2:4])
    out = km.inference.denoise_images(model, stack, batch_size=8)
    assert out.shape == stack.shape
    np.testing.assert_allclose(out[1], batched[3], atol=1e-6)
    one = km.inference.denoise_images(model, images[1])
    np.testing.assert_allclose(one, batched[1], atol=1e-6)


def test_cached_model_traces_once_and_follows_weight_changes(model, images):
    km.inference.denoise_images(model, images[:2])
    runner = _inference_model.inference_model(
        model, True, False, "float32", tf.distribute.get_strategy()
    )
    km.inference.denoise_images(model, images, batch_size=2)
    km.inference.denoise_images(model, np.stack(images[2:4]))
    same = _inference_model.inference_model(
        model, True, False, "float32", tf.distribute.get_strategy()
    )
    assert same is runner and runner.traces == 1
    # New weights (e.g. more training) must not be served from a stale copy.
    model.get_layer("output_conv").kernel.assign(
        2.0 * model.get_layer("output_conv").kernel
    )
    out = km.inference.denoise_images(model, images[:1])
    np.testing.assert_allclose(out[0], _one_by_one(model, images[:1])[0], atol=1e-5)


def test_jit_compile_equals(model, images):
    jit = km.inference.denoise_images(model, images, jit_compile=True)
    for a, b in zip(jit, _one_by_one(model, images)):
        np.testing.assert_allclose(a, b, atol=1e-5)


def test_mixed_bfloat16_close_to_float32(images):
    model = _trained_like(km.models.UNet(filters=4, batch_norm=True))
    half = km.inference.denoise_images(model, images, precision="mixed_bfloat16")
    full = _one_by_one(model, images)
    for a, b in zip(half, full):
        assert a.dtype == np.float32
        # bfloat16 keeps 8 bits of mantissa: about 1% relative error.
        assert np.abs(a - b).max() < 0.05
        assert 0 < np.abs(a - b).max()
    runner = _inference_model.inference_model(
        model, True, False, "mixed_bfloat16", tf.distribute.get_strategy()
    )
    assert runner.model.dtype_policy.name == "mixed_bfloat16"
    assert keras.config.dtype_policy().name == "float32"


def test_bad_inputs(model, images):
    with pytest.raises(ValueError, match="images is empty"):
        km.inference.denoise_images(model, [])
    with pytest.raises(TypeError, match="floating-point"):
        km.inference.denoise_images(model, np.zeros((1, 8, 8, 1), np.uint8))
    with pytest.raises(ValueError, match=r"images\[1\] has 3 channel"):
        km.inference.denoise_images(model, [images[0], np.zeros((8, 8, 3), "f4")])
    with pytest.raises(ValueError, match="must be \\(height, width, channels\\)"):
        km.inference.denoise_images(model, np.zeros((8, 8), "float32"))
    with pytest.raises(ValueError, match="batch_size must be >= 1"):
        km.inference.denoise_images(model, images, batch_size=0)
    with pytest.raises(ValueError, match="precision must be one of"):
        km.inference.denoise_images(model, images, precision="float16")
    with pytest.raises(TypeError, match="blind Keras model"):
        km.inference.denoise_images(lambda y: y, images)


MIRRORED = textwrap.dedent(
    """
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    tf.config.set_logical_device_configuration(
        cpu, [tf.config.LogicalDeviceConfiguration()] * 2
    )
    import sys
    import numpy as np
    import keras_miyasawa as km
    from keras_miyasawa.inference import _inference_model

    strategy = _inference_model.default_strategy()
    assert isinstance(strategy, tf.distribute.MirroredStrategy)
    assert strategy.num_replicas_in_sync == 2
    model = km.models.DnCNN(depth=3, filters=8)
    rng = np.random.default_rng(0)
    shapes = [(10, 10, 1)] * 5 + [(7, 9, 1)]
    images = [rng.uniform(size=s).astype("float32") for s in shapes]
    # 5 images in batches of 3: the last batch (1 image) leaves a replica idle.
    mirrored = km.inference.denoise_images(model, images, batch_size=3)
    single = km.inference.denoise_images(
        model, images, strategy=tf.distribute.OneDeviceStrategy("/cpu:0")
    )
    for a, b in zip(mirrored, single):
        np.testing.assert_allclose(a, b, atol=1e-6)
    folder, out = sys.argv[1], sys.argv[2]
    for i, image in enumerate(images):
        km.image_io.write_image(f"{folder}/{i}.npy", image)
    rows = km.inference.denoise_folder(model, folder, out, batch_size=3)
    for row, expected in zip(rows, single):
        np.testing.assert_allclose(np.load(row["output"]), expected, atol=1e-6)
    print("ok", len(rows))
    """
)


def test_mirrored_strategy_on_two_logical_cpus(tmp_path):
    # Logical devices must be set before TensorFlow initialises: a new process.
    (tmp_path / "in").mkdir()
    result = subprocess.run(
        [sys.executable, "-c", MIRRORED, str(tmp_path / "in"), str(tmp_path / "out")],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"},
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.split() == ["ok", "6"]
