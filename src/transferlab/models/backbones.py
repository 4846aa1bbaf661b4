"""ImageNet backbones from keras.applications with a new classification head (seed 004)."""

import copy
import os
import re

import keras

from transferlab.data.inputs import InputKind
from transferlab.errors import ConfigError, first_line
from transferlab.models.base import ModelBuilder
from transferlab.models.image_preprocessing import (
    augment,
    augmentation_layers,
    grayscale_to_rgb,
    preprocessing_layer,
    resize,
)
from transferlab.models.layers import classification_output, encoder_features, named_inputs

APPLICATIONS = {
    "vgg16": keras.applications.VGG16,
    "resnet50": keras.applications.ResNet50,
    "mobilenet_v2": keras.applications.MobileNetV2,
    "efficientnet_b0": keras.applications.EfficientNetB0,
    "mobilenet": keras.applications.MobileNet,
}

# Widths that have ImageNet weights (the architectures that take `alpha`).
IMAGENET_ALPHAS = {"mobilenet": (0.25, 0.5, 0.75, 1.0), "mobilenet_v2": (0.35, 0.5, 0.75, 1.0, 1.3, 1.4)}
POOLING = {
    "avg": keras.layers.GlobalAveragePooling2D,
    "max": keras.layers.GlobalMaxPooling2D,
    "flatten": keras.layers.Flatten,
}
MIN_SIZE = 32  # the smallest input keras.applications accept


class KerasBackbone(ModelBuilder):
    """A keras.applications network (include_top=False) as the encoder, and a new head.

    Encoder: raw image -> grayscale to RGB (1-channel data) -> Resizing to image_size (when the data
    differs) -> the backbone's preprocess_input -> the application, one nested keras.Model named
    after `architecture` (freeze it, or unfreeze its last layers). Classifier: [augmentation] ->
    encoder in inference mode -> pooling -> Dropout/Dense head -> output.

    weights: "imagenet", None (random init) or the path to a Keras .h5 weights file.
    dropout: one rate, or one per Dropout layer (before each Dense layer and before the output);
    seed 004's VGG16 head is dense_units=[256], dropout=[0.5, 0.3].
    """

    accepts = (InputKind.IMAGE,)

    def __init__(
        self,
        architecture: str,
        name: str | None = None,
        weights: str | None = "imagenet",
        image_size: int | None = 32,
        alpha: float = 1.0,
        pooling: str = "avg",
        dense_units=(256,),
        dropout=0.5,
        activation: str = "relu",
        augmentation=(),
    ):
        super().__init__(name or architecture)
        self.architecture, self.weights, self.image_size, self.alpha = architecture, weights, image_size, alpha
        self.pooling, self.dense_units, self.activation = pooling, list(dense_units), activation
        self.dropout = [dropout] * (len(self.dense_units) + 1) if isinstance(dropout, (int, float)) else list(dropout)
        self.augmentation = list(augmentation)

    @property
    def pretrained(self) -> bool:
        return self.weights is not None

    @property
    def initial_weights(self) -> str:
        return str(self.weights or "random")

    def random_init(self) -> "KerasBackbone":
        """This backbone with random initial weights (what strategy=scratch trains)."""
        fresh = copy.copy(self)
        fresh.weights = None
        return fresh

    def backbone(self, encoder: keras.Model) -> keras.Model:
        """The application inside an encoder this class built (what finetune's `unfreeze` counts in)."""
        return encoder.get_layer(self.architecture)

    def check(self, specs) -> None:
        """ConfigError for inputs other than one image input, or any setting that cannot work
        with its images (H, W, C)."""
        input_shape = self.the_input(specs).shape
        arch = self.architecture
        if arch not in APPLICATIONS:
            raise ConfigError("model.architecture", arch, f"allowed: {', '.join(APPLICATIONS)}")
        if self.pooling not in POOLING:
            raise ConfigError("model.pooling", self.pooling, f"allowed: {', '.join(POOLING)}")
        if len(self.dropout) != len(self.dense_units) + 1:
            raise ConfigError(
                "model.dropout",
                self.dropout,
                f"one rate, or {len(self.dense_units) + 1} (before each Dense layer and before the output)",
            )
        augmentation_layers(self.augmentation)
        height, width, channels = input_shape
        if channels not in (1, 3):
            raise ConfigError("model.architecture", arch, f"needs 1- or 3-channel images, the data has {channels}")
        if self.image_size is None and min(height, width) < MIN_SIZE:
            raise ConfigError(
                "model.image_size",
                None,
                f"{arch} needs images of at least {MIN_SIZE}x{MIN_SIZE}, the data is "
                f"{height}x{width}; set model.image_size={MIN_SIZE} (or larger)",
            )
        if self.image_size is not None and self.image_size < MIN_SIZE:
            raise ConfigError(
                "model.image_size",
                self.image_size,
                f"{arch} needs images of at least {MIN_SIZE}x{MIN_SIZE}; set model.image_size={MIN_SIZE} (or larger)",
            )
        if self.weights == "imagenet" and arch in IMAGENET_ALPHAS and self.alpha not in IMAGENET_ALPHAS[arch]:
            raise ConfigError(
                "model.alpha",
                self.alpha,
                f"{arch} has ImageNet weights for alpha in {', '.join(map(str, IMAGENET_ALPHAS[arch]))}",
            )
        if self.weights not in (None, "imagenet") and not os.path.isfile(os.path.expanduser(self.weights)):
            raise ConfigError("model.weights", self.weights, "file does not exist")

    def build_encoder(self, specs) -> keras.Model:
        """Raw image -> the backbone's last feature map (no pooling)."""
        self.check(specs)
        inputs = named_inputs(specs)
        (image,) = inputs.values()
        height, width, channels = image.shape[1:]
        size = self.image_size
        x = grayscale_to_rgb(image) if channels == 1 else image
        x = resize(x, size)
        preprocess = preprocessing_layer(self.architecture)
        x = preprocess(x) if preprocess is not None else x
        backbone = self._application((size or height, size or width, 3))
        return keras.Model(inputs, backbone(x), name="encoder")

    def build_classifier(self, specs, n_classes: int, encoder=None) -> keras.Model:
        """[augmentation] -> encoder (fresh unless given) -> pooling -> head -> output.

        Augmentation sits outside the encoder: the encoder is called with training=False, which
        (from Keras versions that honour it inside functional models on) would switch it off.
        """
        encoder = encoder if encoder is not None else self.build_encoder(specs)
        inputs = named_inputs(specs)
        ((name, image),) = inputs.items()
        x = augment(image, augmentation_layers(self.augmentation))
        x = POOLING[self.pooling](name=f"{self.pooling}_pool")(encoder_features({name: x}, encoder))
        for i, width in enumerate(self.dense_units):
            x = self._dropout(x, i)
            x = keras.layers.Dense(width, activation=self.activation, name=f"dense_{i}")(x)
        x = self._dropout(x, len(self.dense_units))
        return keras.Model(inputs, classification_output(x, n_classes), name=f"{self.architecture}_classifier")

    def _dropout(self, x, i: int):
        rate = self.dropout[i]
        return keras.layers.Dropout(rate, name=f"dropout_{i}")(x) if rate > 0 else x

    def _describe(self) -> str:
        return (
            f"{self.architecture} (alpha={self.alpha})" if self.architecture in IMAGENET_ALPHAS else self.architecture
        )

    def _application(self, input_shape: tuple) -> keras.Model:
        """The keras.applications model, with its weights; never a silent random init."""
        kwargs = {"include_top": False, "input_shape": input_shape, "name": self.architecture}
        if self.architecture in IMAGENET_ALPHAS:
            kwargs["alpha"] = self.alpha
        build = APPLICATIONS[self.architecture]
        if self.weights == "imagenet":
            try:
                return build(weights="imagenet", **kwargs)
            except ValueError:
                raise  # Keras' own checks (e.g. a corrupted cached file): their message says it all
            except Exception as error:  # keras.utils.get_file raises a bare Exception when a download fails
                found = re.search(r"[\w.-]+\.h5", str(error))
                expected = found.group(0) if found else f"the {self.architecture} no-top weights file"
                raise ConfigError(
                    "model.weights",
                    "imagenet",
                    f"could not download the ImageNet weights for "
                    f"{self._describe()} (no network?); put {expected} in ~/.keras/models "
                    "(or $KERAS_HOME/models) or set model.weights=<path to .h5>",
                ) from error
        # A path: build the architecture, then load, so any alpha works and a mismatch is clearly the file's.
        model = build(weights=None, **kwargs)
        if self.weights is not None:
            try:
                model.load_weights(os.path.expanduser(self.weights))
            except (ValueError, OSError) as error:
                raise ConfigError(
                    "model.weights", self.weights, f"does not fit {self._describe()}: {first_line(error)}"
                ) from error
        return model
