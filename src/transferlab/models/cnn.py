"""Small CNN trained from scratch (seed 004's baseline), for raw images with pixel values 0..255."""

import keras

from transferlab.data.inputs import InputKind
from transferlab.errors import ConfigError
from transferlab.models.base import ModelBuilder
from transferlab.models.image_preprocessing import augment, augmentation_layers, resize
from transferlab.models.layers import classification_output, encoder_features, named_inputs


class CNN(ModelBuilder):
    """[Resizing] -> Rescaling(1/255) (or, with standardize, per-channel standardisation with the
    training images' statistics, seed 002) -> Conv 32 -> pool -> Conv 64 -> pool -> Conv 128 (the encoder)
    -> Flatten -> Dense 256 -> Dropout 0.5 -> output.

    As in seed 004, 3x3 "same" convolutions with ReLU and a 2x2 max-pool after every convolution
    but the last; on 32x32x3 images with 10 classes that is 2,193,226 parameters.
    `image_size` resizes to image_size x image_size (None keeps the data's size).
    """

    accepts = (InputKind.IMAGE,)

    def __init__(
        self,
        name: str = "cnn",
        filters=(32, 64, 128),
        kernel_size: int = 3,
        dense_units=(256,),
        dropout: float = 0.5,
        activation: str = "relu",
        image_size: int | None = None,
        augmentation=(),
        standardize: bool = False,
    ):
        super().__init__(name)
        self.filters, self.kernel_size, self.dense_units = list(filters), kernel_size, list(dense_units)
        self.dropout, self.activation, self.image_size = dropout, activation, image_size
        self.augmentation, self.standardize = list(augmentation), standardize

    def check(self, specs) -> None:
        """ConfigError for inputs other than one image input, or images that would shrink to
        nothing in the pooling layers."""
        spec = self.the_input(specs)
        height, width = spec.shape[:2]
        if self.standardize and spec.channel_std is None:
            raise ConfigError(
                "model.standardize", True, f"input {spec.describe()} carries no training-image statistics; use false"
            )
        augmentation_layers(self.augmentation)
        smallest = 2 ** (len(self.filters) - 1)
        if self.image_size is not None and self.image_size < smallest:
            raise ConfigError(
                "model.image_size", self.image_size, f"must be >= {smallest} for {len(self.filters)} conv layers"
            )
        if self.image_size is None and min(height, width) < smallest:
            raise ConfigError(
                "model.image_size",
                None,
                f"the data is {height}x{width}, too small for {len(self.filters)} "
                f"conv layers; set model.image_size={smallest} (or larger)",
            )

    def build_encoder(self, specs) -> keras.Model:
        """Raw image -> the last convolution's feature map."""
        self.check(specs)
        inputs = named_inputs(specs)
        (image,) = inputs.values()
        x = self.scaling(self.the_input(specs))(resize(image, self.image_size))
        for i, width in enumerate(self.filters):
            if i > 0:
                x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
            x = keras.layers.Conv2D(
                width, self.kernel_size, padding="same", activation=self.activation, name=f"conv_{i + 1}"
            )(x)
        return keras.Model(inputs, x, name="encoder")

    def scaling(self, spec) -> keras.layers.Layer:
        """Pixels 0..255 -> 0..1, or standardised per channel with the training images' mean and std."""
        if not self.standardize:
            return keras.layers.Rescaling(1 / 255, name="rescale")
        variance = [std**2 for std in spec.channel_std]
        return keras.layers.Normalization(axis=-1, mean=list(spec.channel_mean), variance=variance, name="standardize")

    def build_classifier(self, specs, n_classes: int, encoder=None) -> keras.Model:
        """[augmentation] -> encoder (fresh unless given) -> Flatten -> Dense/Dropout head -> output."""
        encoder = encoder if encoder is not None else self.build_encoder(specs)
        inputs = named_inputs(specs)
        ((name, image),) = inputs.items()
        x = augment(image, augmentation_layers(self.augmentation))
        x = keras.layers.Flatten(name="flatten")(encoder_features({name: x}, encoder))
        for i, width in enumerate(self.dense_units):
            x = keras.layers.Dense(width, activation=self.activation, name=f"dense_{i}")(x)
            x = keras.layers.Dropout(self.dropout, name=f"dropout_{i}")(x)
        return keras.Model(inputs, classification_output(x, n_classes), name="cnn")
