"""The base class of the networks in the zoo: blind denoisers y -> x_hat."""

import keras

from keras_miyasawa import _validation


class Denoiser(keras.Model):
    """A functional Keras model mapping noisy images `y` to clean estimates.

    Subclasses build their graph in `__init__` (KerasHub backbones' pattern)
    and store every constructor argument as an attribute of the same name.
    Inputs are float NHWC images in [0, 1] with `channels` channels; the output
    is `x_hat`, never the noise. Calling the model checks its input first, so a
    `uint8` image, a wrong rank or a wrong channel count is a clear error.
    """

    def __init__(self, inputs, outputs, dtype=None, **kwargs):
        super().__init__(inputs=inputs, outputs=outputs, **kwargs)
        if dtype is not None:
            # Functional models ignore `dtype`; keep the policy given to the layers.
            self.dtype_policy = keras.dtype_policies.get(dtype)

    def __call__(self, *args, **kwargs):
        if args:
            _validation.check_images(args[0], "inputs", channels=self.channels)
        return super().__call__(*args, **kwargs)

    @property
    def is_bias_free(self):
        """Whether the network has no additive term (homogeneous of degree 1)."""
        return self.bias_free

    def get_config(self):
        return {
            "name": self.name,
            "trainable": self.trainable,
            "dtype": keras.dtype_policies.serialize(self.dtype_policy),
        }

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def with_dtype(self, dtype):
        """A copy of this denoiser with the same weights under another dtype policy.

        Variables stay float32 under a mixed policy, so the weights carry over
        unchanged either way: `"mixed_bfloat16"` for fast inference or
        training, `"float32"` to save or evaluate a model trained mixed.

        Args:
            dtype: a dtype policy or its name, e.g. `"mixed_bfloat16"`.

        Returns:
            A new denoiser of the same class; `self` is unchanged.

        Example:

        >>> import keras_miyasawa as km
        >>> model = km.models.DnCNN(depth=3, filters=4)
        >>> model.with_dtype("mixed_bfloat16").dtype_policy.name
        'mixed_bfloat16'
        """
        config = self.get_config()
        config["dtype"] = dtype
        copy = type(self).from_config(config)
        copy.set_weights(self.get_weights())
        return copy

    @classmethod
    def from_preset(cls, preset):
        """Loads a pretrained denoiser of this class from a preset.

        Args:
            preset: a name from `keras_miyasawa.list_presets()` or a preset
                folder written by `save_to_preset`.

        Returns:
            An instance of this class (or a subclass) with the preset weights.

        Raises:
            keras_miyasawa.presets.PresetError: unknown preset, incomplete
                folder, or a preset of another class (a UNet preset loaded
                with `DnCNN.from_preset`).
            keras_miyasawa.presets.IntegrityError: corrupted weights.

        Example:

        >>> import keras_miyasawa as km
        >>> model = km.models.DnCNN.from_preset(
        ...     "mohan2020_dncnn_bias_free_0-55"
        ... )  # doctest: +SKIP
        """
        from keras_miyasawa.presets import registry

        return registry.from_preset(preset, expected_class=cls)

    def save_to_preset(self, preset_dir, metadata=None, overwrite=False):
        """Saves the model as a preset folder that `from_preset` loads.

        The folder holds `config.json`, `model.weights.h5`, `metadata.json`
        (with the sha256 of the weights) and a `README.md` model card; it is
        written under a temporary name and renamed when complete.

        Args:
            preset_dir: the folder to create.
            metadata: optional dict of descriptive fields for `metadata.json`
                and the model card, e.g. `training_data`,
                `training_noise_range` (in [0, 1] units), `set12_psnr`
                (`{"15": dB, "25": dB, "50": dB}`), `training_command`.
            overwrite: replace an existing preset folder. Defaults to `False`.

        Returns:
            `preset_dir` as a `pathlib.Path`.

        Raises:
            FileExistsError: if `preset_dir` is not empty and `overwrite` is
                `False`.

        Example:

        >>> import tempfile
        >>> import keras_miyasawa as km
        >>> model = km.models.DnCNN(depth=3, filters=8)
        >>> preset_dir = model.save_to_preset(tempfile.mkdtemp() + "/tiny_dncnn")
        >>> km.models.DnCNN.from_preset(preset_dir).depth
        3
        """
        from keras_miyasawa.presets import preset_io

        return preset_io.save_to_preset(
            self, preset_dir, metadata=metadata, overwrite=overwrite
        )
