"""Small CNN trained from scratch (seed 004's baseline), for raw images with pixel values 0..255."""
import keras

from transferlab.errors import ConfigError
from transferlab.models.image_preprocessing import augment, augmentation_layers, resize
from transferlab.models.layers import classification_output, encoder_features


class CNN:
    """[Resizing] -> Rescaling(1/255) -> Conv 32 -> pool -> Conv 64 -> pool -> Conv 128 (the encoder)
    -> Flatten -> Dense 256 -> Dropout 0.5 -> output.

    As in seed 004, 3x3 "same" convolutions with ReLU and a 2x2 max-pool after every convolution
    but the last; on 32x32x3 images with 10 classes that is 2,193,226 parameters.
    `image_size` resizes to image_size x image_size (None keeps the data's size).
    """

    input_kind = "images"
    pretraining = None
    pretrained = False

    def __init__(self, filters=(32, 64, 128), kernel_size: int = 3, dense_units=(256,), dropout: float = 0.5,
                 activation: str = "relu", image_size: int | None = None, augmentation=()):
        self.filters, self.kernel_size, self.dense_units = list(filters), kernel_size, list(dense_units)
        self.dropout, self.activation, self.image_size = dropout, activation, image_size
        self.augmentation = list(augmentation)

    def check(self, input_shape: tuple) -> None:
        """ConfigError when the images would shrink to nothing in the pooling layers."""
        augmentation_layers(self.augmentation)
        smallest = 2 ** (len(self.filters) - 1)
        height, width = input_shape[:2]
        if self.image_size is not None and self.image_size < smallest:
            raise ConfigError("model.image_size", self.image_size, f"must be >= {smallest} for {len(self.filters)} conv layers")
        if self.image_size is None and min(height, width) < smallest:
            raise ConfigError("model.image_size", None, f"the data is {height}x{width}, too small for {len(self.filters)} "
                                                        f"conv layers; set model.image_size={smallest} (or larger)")

    def build_encoder(self, input_shape: tuple) -> keras.Model:
        """Raw image -> the last convolution's feature map."""
        self.check(input_shape)
        inputs = keras.Input(tuple(input_shape), name="image")
        x = keras.layers.Rescaling(1 / 255, name="rescale")(resize(inputs, self.image_size))
        for i, width in enumerate(self.filters):
            if i > 0:
                x = keras.layers.MaxPooling2D(2, name=f"pool_{i}")(x)
            x = keras.layers.Conv2D(width, self.kernel_size, padding="same", activation=self.activation, name=f"conv_{i + 1}")(x)
        return keras.Model(inputs, x, name="encoder")

    def build_classifier(self, input_shape: tuple, n_classes: int, encoder=None) -> keras.Model:
        """[augmentation] -> encoder (fresh unless given) -> Flatten -> Dense/Dropout head -> output."""
        encoder = encoder if encoder is not None else self.build_encoder(input_shape)
        inputs = keras.Input(tuple(input_shape), name="image")
        x = augment(inputs, augmentation_layers(self.augmentation))
        x = keras.layers.Flatten(name="flatten")(encoder_features(x, encoder))
        for i, width in enumerate(self.dense_units):
            x = keras.layers.Dense(width, activation=self.activation, name=f"dense_{i}")(x)
            x = keras.layers.Dropout(self.dropout, name=f"dropout_{i}")(x)
        return keras.Model(inputs, classification_output(x, n_classes), name="cnn")
