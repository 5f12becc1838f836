"""A tiny training run in its own process, for the distributed and resume tests.

Run as a script (never imported by the library): devices and TF_CONFIG must be
set before TensorFlow initializes, and the resume test kills the process.
Writes the final weights to `--weights` (`.npz`).
"""

import argparse
import json
import os


def synthetic_images():
    import numpy as np

    rng = np.random.default_rng(7)
    # Smooth-ish images: a few random low-frequency waves plus texture.
    grid = np.linspace(0.0, 1.0, 24)
    images = []
    for _ in range(12):
        fx, fy = rng.uniform(1.0, 4.0, 2)
        wave = 0.5 + 0.3 * np.sin(2 * np.pi * (fx * grid[:, None] + fy * grid))
        images.append(wave + 0.1 * rng.uniform(size=(24, 24)))
    return np.clip(np.stack(images), 0.0, 1.0).astype("float32")[..., None]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--mode", choices=("single", "mirrored"))
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--steps", type=int, default=3)
    parser.add_argument("--kill-after", type=int, default=0)
    args = parser.parse_args()

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    strategy = None
    if args.mode == "mirrored":
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
        strategy = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
        assert strategy.num_replicas_in_sync == 2

    import keras
    import numpy as np

    from keras_miyasawa import training

    callbacks = []
    if args.kill_after:

        class Kill(keras.callbacks.Callback):
            seen = 0

            def on_train_batch_end(self, batch, logs=None):
                Kill.seen += 1
                if Kill.seen == args.kill_after:
                    os._exit(3)  # A crash: no cleanup, no on_train_end.

        callbacks.append(Kill())

    model, history = training.train_denoiser(
        synthetic_images(),
        args.work_dir,
        model_kwargs={"depth": 3, "filters": 4, "batch_norm": False},
        sigma_range=(0.0, 50.0 / 255.0),
        patch_size=16,
        batch_size=8,
        steps_per_epoch=args.steps,
        epochs=args.epochs,
        learning_rate=1e-2,
        seed=3,
        strategy=strategy,
        callbacks=callbacks,
        verbose=0,
    )
    weights = [np.asarray(w) for w in model.get_weights()]
    np.savez(args.weights, *weights)
    with open(args.weights + ".json", "w") as f:
        json.dump({"epochs_run": len(history.history["loss"])}, f)


if __name__ == "__main__":
    main()
