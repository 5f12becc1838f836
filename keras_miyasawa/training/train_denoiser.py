"""Training a denoiser with `model.fit`: data, optimizer, callbacks, resume, presets."""

import json
import os
import platform
import shutil
import time
from pathlib import Path

import keras
import numpy as np
import tensorflow as tf

from keras_miyasawa import _validation
from keras_miyasawa import models
from keras_miyasawa.callbacks import MiyasawaMonitor
from keras_miyasawa.data import denoising_dataset
from keras_miyasawa.data.denoising_dataset import check_sigma_range
from keras_miyasawa.presets import from_preset

ARCHITECTURES = {"dncnn": models.DnCNN, "unet": models.UNet}
BACKUP_DIR = "backup"
LAST_WEIGHTS = "last.weights.h5"
HISTORY_CSV = "history.csv"
PRECISIONS = ("float32", "mixed_bfloat16")


def build_denoiser(arch="dncnn", channels=1, **model_kwargs):
    """A fresh `DnCNN` or `UNet` by name.

    Args:
        arch: `"dncnn"` or `"unet"`.
        channels: 1 (gray) or 3 (colour).
        **model_kwargs: the model's other constructor arguments (`depth`,
            `filters`, `bias_free`, ...).

    Returns:
        A `keras_miyasawa.models.Denoiser`.

    Raises:
        ValueError: an unknown `arch`.

    Example:

    >>> from keras_miyasawa import training
    >>> training.build_denoiser("dncnn", depth=3, filters=4).depth
    3
    """
    _validation.check_choice(arch, "arch", tuple(ARCHITECTURES))
    return ARCHITECTURES[arch](channels=channels, **model_kwargs)


def completed_epochs(work_dir):
    """The epochs a previous interrupted run finished (0 if none), from its backup."""
    path = Path(work_dir) / BACKUP_DIR / "training_metadata.json"
    if not path.exists():
        return 0
    return int(json.loads(path.read_text())["epoch"])


def train_denoiser(
    data,
    work_dir,
    *,
    arch="dncnn",
    channels=1,
    model_kwargs=None,
    sigma_range=(0.0, 55.0 / 255.0),
    patch_size=40,
    batch_size=64,
    steps_per_epoch=100,
    epochs=10,
    learning_rate=1e-3,
    precision="float32",
    seed=0,
    initial_weights=None,
    strategy=None,
    validation_data=None,
    monitor_kwargs=None,
    data_kwargs=None,
    callbacks=None,
    verbose="auto",
):
    """Trains a blind denoiser with `model.fit` on noisy patches; resumable.

    Builds the model (under `strategy.scope()` if given), the
    `keras_miyasawa.data.denoising_dataset` pipeline, Adam with a cosine
    learning-rate decay over the whole run, the MSE loss and the callbacks:
    `BackupAndRestore` in `work_dir/backup` (restores the weights, optimizer
    state and epoch of an interrupted run; the data pipeline is restarted at
    the same batch, so a resumed run ends at the weights of an uninterrupted
    one), a `MiyasawaMonitor` if `validation_data` is given, `ModelCheckpoint`
    of the last weights in `work_dir/last.weights.h5` and a `CSVLogger` in
    `work_dir/history.csv`. Calling it again with the same arguments and
    `work_dir` after an interruption resumes; after a completed run it starts
    over.

    Under a `tf.distribute` strategy `batch_size` is the global batch, split
    over the replicas. Batch-norm statistics are per replica (not
    synchronized), so a network with batch norm trains slightly differently on
    several replicas than on one; without batch norm the updates are the same
    up to floating-point rounding. Under a `MultiWorkerMirroredStrategy` every
    worker calls this function with the same arguments except `work_dir`, which
    must differ (each worker writes its own checkpoints); the workers see the
    same global batches as a single device would, each training on its share.

    Args:
        data: the `source` of `denoising_dataset` (folder, array, dataset or
            TFDS name).
        work_dir: folder for the checkpoints, backup and history.
        arch: `"dncnn"` or `"unet"`. Defaults to `"dncnn"`.
        channels: 1 or 3; the data is converted to it. Defaults to `1`.
        model_kwargs: dict of other model arguments (`depth`, `filters`,
            `bias_free`, ...).
        sigma_range: `(sigma_min, sigma_max)` in [0, 1] units. Defaults to
            `(0, 55/255)`.
        patch_size: int. Defaults to `40`.
        batch_size: int, the global batch. Defaults to `64`.
        steps_per_epoch: int. Defaults to `100`.
        epochs: int. Defaults to `10`.
        learning_rate: float, the initial Adam learning rate. Defaults to
            `1e-3`.
        precision: `"float32"` or `"mixed_bfloat16"` (bfloat16 compute,
            float32 variables: faster on CPUs with bfloat16 instructions and
            on recent GPUs). The returned model is float32 either way.
            Defaults to `"float32"`.
        seed: int, seeds the initial weights and the data. Defaults to `0`.
        initial_weights: optional preset name or folder to start from
            (fine-tuning); it must hold the same architecture. Defaults to
            `None` (random initialization).
        strategy: optional `tf.distribute.Strategy`.
        validation_data: optional clean images `(n, h, w, c)` for a
            `MiyasawaMonitor`.
        monitor_kwargs: dict of other `MiyasawaMonitor` arguments.
        data_kwargs: dict of other `denoising_dataset` arguments (e.g.
            `data_dir`, `download`, `patches_per_image`).
        callbacks: optional extra Keras callbacks.
        verbose: `fit`'s verbosity (1: progress bar). Defaults to `"auto"`.

    Returns:
        `(model, history)`.

    Example:

    >>> import tempfile
    >>> import numpy as np
    >>> from keras_miyasawa import training
    >>> images = np.random.default_rng(0).uniform(size=(4, 24, 24, 1))
    >>> model, history = training.train_denoiser(
    ...     images, tempfile.mkdtemp(), model_kwargs={"depth": 3, "filters": 4},
    ...     patch_size=16, batch_size=4, steps_per_epoch=2, epochs=1, verbose=0,
    ... )
    >>> len(history.history["loss"])
    1
    """
    _validation.check_choice(channels, "channels", (1, 3))
    sigma_range = check_sigma_range(sigma_range)
    _validation.check_positive_int(steps_per_epoch, "steps_per_epoch")
    _validation.check_positive_int(epochs, "epochs")
    _validation.check_positive_float(learning_rate, "learning_rate")
    _validation.check_choice(precision, "precision", PRECISIONS)
    work_dir = Path(work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)

    keras.utils.set_random_seed(seed)
    scope = strategy.scope() if strategy is not None else _null_scope()
    with scope:
        model_kwargs = dict(model_kwargs or {})
        if precision != "float32":
            model_kwargs["dtype"] = precision
        model = build_denoiser(arch, channels, **model_kwargs)
        schedule = keras.optimizers.schedules.CosineDecay(
            learning_rate, decay_steps=epochs * steps_per_epoch, alpha=0.01
        )
        model.compile(optimizer=keras.optimizers.Adam(schedule), loss="mse")
        if initial_weights is not None:
            _load_initial_weights(model, initial_weights)
    if _is_multi_worker(strategy):
        _patch_fit_for_multi_worker(model, strategy)

    # Resume: restart the deterministic pipeline at the first batch not trained on.
    start_step = completed_epochs(work_dir) * steps_per_epoch
    dataset = denoising_dataset(
        data,
        patch_size=patch_size,
        sigma_range=sigma_range,
        batch_size=batch_size,
        seed=seed,
        color_mode="grayscale" if channels == 1 else "rgb",
        start_step=start_step,
        **(data_kwargs or {}),
    )
    if strategy is not None:
        # Each worker builds the whole global batch and keeps its replicas' share
        # (the default may shard by file instead, changing the batches).
        options = tf.data.Options()
        options.experimental_distribute.auto_shard_policy = (
            tf.data.experimental.AutoShardPolicy.DATA
        )
        dataset = dataset.with_options(options)
    fit_callbacks = [keras.callbacks.BackupAndRestore(str(work_dir / BACKUP_DIR))]
    if validation_data is not None:
        fit_callbacks.append(
            MiyasawaMonitor(validation_data, seed=seed, **(monitor_kwargs or {}))
        )
    fit_callbacks += [
        keras.callbacks.ModelCheckpoint(
            str(work_dir / LAST_WEIGHTS), save_weights_only=True
        ),
        keras.callbacks.CSVLogger(str(work_dir / HISTORY_CSV), append=start_step > 0),
        *(callbacks or []),
    ]
    history = model.fit(
        dataset,
        epochs=epochs,
        steps_per_epoch=steps_per_epoch,
        callbacks=fit_callbacks,
        shuffle=False,  # The pipeline is already shuffled, deterministically.
        verbose=verbose,
    )
    if precision != "float32":
        model = model.with_dtype("float32")
    return model, history


def _load_initial_weights(model, initial_weights):
    source = from_preset(initial_weights)
    shapes = [tuple(w.shape) for w in model.weights]
    if (
        type(source) is not type(model)
        or [tuple(w.shape) for w in source.weights] != shapes
    ):
        raise ValueError(
            "initial_weights must hold the architecture being trained "
            f"({type(model).__name__} with {model.count_params()} parameters). "
            f"Received: initial_weights={str(initial_weights)!r}, a "
            f"{type(source).__name__} with {source.count_params()} parameters"
        )
    model.set_weights(source.get_weights())


def _is_multi_worker(strategy):
    # The condition under which Keras takes its multi-worker code paths.
    return (
        isinstance(strategy, tf.distribute.MultiWorkerMirroredStrategy)
        and strategy.extended._in_multi_worker_mode()
    )


def _patch_fit_for_multi_worker(model, strategy):
    """Works around two Keras 3 `fit` bugs under a multi-worker strategy.

    keras-team/keras#20585 (TF issue 72388), still in Keras 3.15:
    1. `fit` first gets a batch for the symbolic build with
       `strategy.reduce("MEAN", (x, y), axis=None)`, but
       `CollectiveAllReduceExtended._reduce_to` (unlike `MirroredStrategy`'s)
       does not map over a nested value and fails converting the tuple of
       `PerReplica` to a tensor. The batch only gives shapes and dtypes, so
       the first local replica's part is used instead.
    2. Every step's logs go through `reduce_per_replica`, which for a
       multi-worker strategy calls `strategy.reduce("MEAN", v, axis=0)`: an
       error on scalar metrics. They are returned with shape `(1,)`, so that
       reduce gives their mean over the replicas, a scalar again.
    The patches stay on this model, which only runs under this strategy.
    """
    symbolic_build = model._maybe_symbolic_build
    train_step = model.train_step

    def local_symbolic_build(iterator=None, data_batch=None):
        if iterator is not None and data_batch is None:
            for _, _, batches in iterator:
                data_batch = tf.nest.map_structure(
                    lambda v: strategy.experimental_local_results(v)[0],
                    next(batches),
                )
                break
        return symbolic_build(data_batch=data_batch)

    def train_step_with_vector_logs(data):
        return tf.nest.map_structure(
            lambda t: tf.reshape(t, [1]) if t.shape.rank == 0 else t,
            train_step(data),
        )

    model._maybe_symbolic_build = local_symbolic_build
    model.train_step = train_step_with_vector_logs


class _null_scope:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def load_validation_images(folder, size=64, max_images=4, channels=1):
    """Center crops of the first images of a folder, for `MiyasawaMonitor`.

    Args:
        folder: a folder of PNG/JPEG images.
        size: int, the side of the crops. Defaults to `64`.
        max_images: int. Defaults to `4`.
        channels: 1 or 3. Defaults to `1`.

    Returns:
        A float32 array `(n, size, size, channels)` in [0, 1].

    Raises:
        ValueError: no usable image (none, or all smaller than `size`).
    """
    from PIL import Image

    crops = []
    for path in sorted(Path(folder).iterdir()):
        if path.suffix.lower() not in (".png", ".jpg", ".jpeg"):
            continue
        with Image.open(path) as image:
            image = image.convert("L" if channels == 1 else "RGB")
            array = np.asarray(image, dtype="float32") / 255.0
        if min(array.shape[:2]) < size:
            continue
        top = (array.shape[0] - size) // 2
        left = (array.shape[1] - size) // 2
        crop = array[top : top + size, left : left + size]
        crops.append(crop.reshape(size, size, channels))
        if len(crops) == max_images:
            break
    if not crops:
        raise ValueError(
            f"no image of at least {size}x{size} in the folder. "
            f"Received: folder={str(folder)!r}"
        )
    return np.stack(crops)


def hardware_description():
    """A one-line description of the machine, for model cards."""
    devices = [d.device_type for d in tf.config.list_physical_devices()]
    gpus = devices.count("GPU")
    return (
        f"{platform.machine()} {platform.system()}, {os.cpu_count()} CPU cores"
        + (f", {gpus} GPU(s)" if gpus else "")
        + f", TensorFlow {tf.__version__}"
    )


def save_trained_preset(model, preset_dir, metadata=None, overwrite=False):
    """Writes `model` as a preset folder.

    Uses `model.save_to_preset` when the model has it; otherwise writes a
    minimal compatible folder: `config.json`
    (`keras.saving.serialize_keras_object`), `model.weights.h5` and
    `metadata.json`.

    Args:
        model: a trained `keras_miyasawa.models.Denoiser`.
        preset_dir: the folder to create.
        metadata: dict of descriptive fields.
        overwrite: replace an existing folder. Defaults to `False`.

    Returns:
        `preset_dir` as a `pathlib.Path`.

    Raises:
        FileExistsError: `preset_dir` exists, is not empty and `overwrite` is
            `False`.
    """
    preset_dir = Path(preset_dir)
    if hasattr(model, "save_to_preset"):
        return Path(
            model.save_to_preset(preset_dir, metadata=metadata, overwrite=overwrite)
        )
    if preset_dir.exists() and any(preset_dir.iterdir()):
        if not overwrite:
            raise FileExistsError(
                f"the preset folder exists and is not empty; pass overwrite=True. "
                f"Received: preset_dir={str(preset_dir)!r}"
            )
        shutil.rmtree(preset_dir)
    preset_dir.mkdir(parents=True, exist_ok=True)
    config = keras.saving.serialize_keras_object(model)
    (preset_dir / "config.json").write_text(json.dumps(config, indent=2))
    model.save_weights(str(preset_dir / "model.weights.h5"))
    (preset_dir / "metadata.json").write_text(
        json.dumps({"class_name": type(model).__name__, **(metadata or {})}, indent=2)
    )
    return preset_dir


def training_metadata(args_line, data, sigma_range, seconds, history):
    """Descriptive preset fields of a training run."""
    losses = history.history.get("loss", [])
    return {
        "training_data": str(data),
        "training_noise_range": [float(s) for s in sigma_range],
        "training_command": args_line,
        "training_time_s": round(float(seconds), 1),
        "training_hardware": hardware_description(),
        "final_loss": float(losses[-1]) if losses else None,
        "trained_at": time.strftime("%Y-%m-%d"),
    }
