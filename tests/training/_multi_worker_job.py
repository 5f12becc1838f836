"""One process of the `MultiWorkerMirroredStrategy` test, or its single-device twin.

Run as a script (never imported by the library): `TF_CONFIG` and the devices must be
set before TensorFlow initializes. With `--worker-index` and `--ports` it is one of
the workers of a cluster on 127.0.0.1; without them it trains on one device. Both
train the model of `train_worker.py` on its data, the same global batches, and write
the final weights to `--weights` (`.npz`).
"""

import argparse
import json
import os


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--work-dir", required=True)
    parser.add_argument("--weights", required=True)
    parser.add_argument("--ports", help="comma-separated, one per worker")
    parser.add_argument("--worker-index", type=int)
    args = parser.parse_args()

    os.environ["CUDA_VISIBLE_DEVICES"] = ""
    if args.ports:
        workers = [f"127.0.0.1:{port}" for port in args.ports.split(",")]
        os.environ["TF_CONFIG"] = json.dumps(
            {
                "cluster": {"worker": workers},
                "task": {"type": "worker", "index": args.worker_index},
            }
        )
    else:
        os.environ.pop("TF_CONFIG", None)

    import tensorflow as tf

    tf.config.experimental.enable_op_determinism()
    strategy = None
    if args.ports:
        ring = tf.distribute.experimental.CommunicationImplementation.RING
        strategy = tf.distribute.MultiWorkerMirroredStrategy(
            communication_options=tf.distribute.experimental.CommunicationOptions(
                implementation=ring
            )
        )
        assert strategy.num_replicas_in_sync == len(workers)

    import numpy as np
    from train_worker import synthetic_images  # this script's folder is on the path

    from keras_miyasawa import training

    model, history = training.train_denoiser(
        synthetic_images(),
        args.work_dir,
        model_kwargs={"depth": 3, "filters": 4, "batch_norm": False},
        sigma_range=(0.0, 50.0 / 255.0),
        patch_size=16,
        batch_size=8,
        steps_per_epoch=3,
        epochs=2,
        learning_rate=1e-2,
        seed=3,
        strategy=strategy,
        verbose=0,
    )
    np.savez(args.weights, *[np.asarray(w) for w in model.get_weights()])
    with open(args.weights + ".json", "w") as f:
        json.dump({"loss": history.history["loss"]}, f)


if __name__ == "__main__":
    main()
