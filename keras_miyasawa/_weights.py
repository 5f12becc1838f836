"""A model's weights as one short digest: the staleness check of cached copies.

The samplers and `denoise_*` keep prepared copies of a user's model (batch norm
folded, bfloat16); a copy is rebuilt when the digest of the model's weights
has changed since, e.g. after more training.
"""

import hashlib

import keras
import numpy as np


def weights_fingerprint(model):
    """A hex digest of `model.weights` (values, in order)."""
    digest = hashlib.blake2b(digest_size=16)
    for weight in model.weights:
        digest.update(np.ascontiguousarray(keras.ops.convert_to_numpy(weight)))
    return digest.hexdigest()
