"""What a denoiser computes locally: its Jacobian's spectrum and rows.

A bias-free ReLU denoiser is piecewise linear, f(y) = J(y) y (Mohan et al.
2020, sec. 6): at each image it applies the linear map J(y). Its rows are the
"adaptive filters" that compute each output pixel, and, J being nearly
symmetric for an MMSE denoiser (J = I + sigma^2 Hessian of log p), its
eigenvectors span the local signal subspace; the eigenvalues say how much of
each direction is kept, and their sum tr(J) is the effective dimension of that
subspace, which falls as the noise grows.

The matrix functions take the `(batch, n, n)` output of `jacobian_matrix`
(small images); `adaptive_filters` is matrix-free (one VJP per pixel), so it
works on images of any size. They use TensorFlow directly (`tf.linalg`, and
`tf.GradientTape` through `vjp`), as the rest of `keras_miyasawa.analysis`.

Reference:
    Mohan, Kadkhodaie, Simoncelli, Fernandez-Granda. "Robust and interpretable
    blind image denoising via bias-free convolutional neural networks."
    ICLR 2020.
"""

import tensorflow as tf

from keras_miyasawa import _validation
from keras_miyasawa.analysis.jacobian import vjp

_SPECTRUM_KINDS = ("singular", "eigen")


def _check_jacobian(jacobian):
    jacobian = tf.convert_to_tensor(jacobian)
    shape = tuple(jacobian.shape)
    if len(shape) != 3 or shape[1] != shape[2]:
        raise ValueError(
            "jacobian must be a batch of square matrices, shape (batch, n, n), as "
            f"returned by jacobian_matrix. Received: jacobian with shape {shape}"
        )
    return jacobian


def jacobian_symmetry_error(jacobian):
    """||J - J^T||_F / ||J||_F per example: zero for an MMSE denoiser.

    The exact counterpart of the probe estimate `jacobian_asymmetry`.

    Args:
        jacobian: `(batch, n, n)` tensor from `jacobian_matrix`.

    Returns:
        A `(batch,)` tensor.

    Raises:
        ValueError: if `jacobian` is not a batch of square matrices.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> km.analysis.jacobian_symmetry_error(np.array([[[1.0, 1.0], [0.0, 1.0]]]))
    <tf.Tensor: shape=(1,), dtype=float64, numpy=array([0.81649658])>
    """
    jacobian = _check_jacobian(jacobian)
    skew = jacobian - tf.linalg.matrix_transpose(jacobian)
    return tf.norm(skew, axis=(-2, -1)) / tf.norm(jacobian, axis=(-2, -1))


def jacobian_spectrum(jacobian, kind="singular"):
    """The singular values, or eigenvalues, of the Jacobian, largest first.

    Args:
        jacobian: `(batch, n, n)` tensor from `jacobian_matrix`.
        kind: `"singular"` (singular values of J) or `"eigen"` (eigenvalues
            of its symmetric part (J + J^T) / 2, real; those of J itself when
            J is symmetric, as it is for an MMSE denoiser). Defaults to
            `"singular"`.

    Returns:
        A `(batch, n)` tensor, sorted in decreasing order.

    Raises:
        ValueError: if `kind` is unknown or `jacobian` is not square.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(2), np.diag([4.0, 1.0]))
    >>> jacobian = km.analysis.jacobian_matrix(prior, np.ones((1, 2)), sigma=1.0)
    >>> km.analysis.jacobian_spectrum(jacobian, kind="eigen").numpy()
    array([[0.8, 0.5]])
    """
    _validation.check_choice(kind, "kind", _SPECTRUM_KINDS)
    jacobian = _check_jacobian(jacobian)
    if kind == "singular":
        return tf.linalg.svd(jacobian, compute_uv=False)
    symmetric = 0.5 * (jacobian + tf.linalg.matrix_transpose(jacobian))
    return tf.reverse(tf.linalg.eigvalsh(symmetric), axis=[-1])


def effective_dimension(jacobian, threshold=None):
    """The dimension of the local subspace that the denoiser keeps.

    With `threshold=None`, tr(J): the sum of the shrinkage factors (eigenvalues)
    of the local linear map, which for a projection onto a d-dimensional
    subspace is d, and which Stein's lemma ties to the MSE (see `sure_mse`).
    With a float `threshold`, the number of singular values of J above it.
    For images too large for `jacobian_matrix`, `hutchinson_divergence`
    estimates the same trace matrix-free.

    Args:
        jacobian: `(batch, n, n)` tensor from `jacobian_matrix`.
        threshold: optional float in (0, 1]: count singular values above it
            instead of summing the eigenvalues. Defaults to `None`.

    Returns:
        A `(batch,)` tensor: the trace (float), or the count (int32).

    Raises:
        ValueError: if `threshold` is not positive or `jacobian` is not square.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> prior = km.priors.Gaussian(np.zeros(3), np.array([9.0, 1.0, 0.01]))
    >>> jacobian = km.analysis.jacobian_matrix(prior, np.ones((1, 3)), sigma=1.0)
    >>> km.analysis.effective_dimension(jacobian).numpy()  # 0.9 + 0.5 + 0.0099
    array([1.40990099])
    >>> km.analysis.effective_dimension(jacobian, threshold=0.25).numpy()
    array([2], dtype=int32)
    """
    jacobian = _check_jacobian(jacobian)
    if threshold is None:
        return tf.linalg.trace(jacobian)
    _validation.check_positive_float(threshold, "threshold")
    singular_values = jacobian_spectrum(jacobian, "singular")
    above = tf.cast(singular_values > threshold, tf.int32)
    return tf.reduce_sum(above, axis=-1)


def _check_pixels(pixels, image_shape):
    checked = []
    for pixel in pixels:
        index = tuple(int(i) for i in pixel)
        index = index + (0,) if len(index) == 2 else index
        if len(index) != 3 or not all(0 <= i < n for i, n in zip(index, image_shape)):
            raise ValueError(
                "pixels must be (row, col) or (row, col, channel) indices inside "
                f"an image of shape {tuple(image_shape)}. Received: pixel {pixel!r}"
            )
        checked.append(index)
    if not checked:
        raise ValueError("pixels must name at least one pixel. Received: pixels=[]")
    return checked


def adaptive_filters(denoiser, y, pixels, sigma=None):
    """The rows of J(y) for chosen output pixels, as images.

    Row i of the Jacobian holds the weights with which the (locally linear)
    denoiser combines the noisy pixels into output pixel i: x_hat_i =
    sum_j J_ij y_j for a bias-free network. Mohan et al. (2020, fig. 5) show
    these filters shrinking to the local structure and widening as the noise
    grows. Matrix-free: one VJP per pixel (`vjp` with a one-hot cotangent).

    Args:
        denoiser: a blind or noise-conditional denoiser.
        y: float images, shape `(batch, height, width, channels)`.
        pixels: a list of `(row, col)` or `(row, col, channel)` output indices
            (channel 0 when omitted).
        sigma: the noise level, for a noise-conditional denoiser.

    Returns:
        A `(batch, len(pixels), height, width, channels)` tensor.

    Raises:
        ValueError: if `y` is not a batch of images or a pixel is outside it.

    Example:

    >>> import numpy as np
    >>> import keras_miyasawa as km
    >>> model = km.models.DnCNN(depth=3, filters=4)
    >>> y = np.random.default_rng(0).uniform(size=(1, 16, 16, 1)).astype("float32")
    >>> km.analysis.adaptive_filters(model, y, [(8, 8), (2, 3)]).shape
    TensorShape([1, 2, 16, 16, 1])
    """
    shape = _validation.check_images(y, "y")
    pixels = _check_pixels(pixels, shape[1:])
    y = tf.convert_to_tensor(y)
    rows = []
    for row, col, channel in pixels:
        one_hot = tf.scatter_nd([[0, row, col, channel]], [1.0], (1, *shape[1:]))
        cotangent = tf.broadcast_to(tf.cast(one_hot, y.dtype), tf.shape(y))
        _, filters = vjp(denoiser, y, cotangent, sigma)
        rows.append(filters)
    return tf.stack(rows, axis=1)
