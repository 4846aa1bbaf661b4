"""Layers that turn raw images (float32, pixel values 0..255) into what a network expects."""

import keras

from transferlab.errors import ConfigError

# keras.applications' preprocess_input mode of each backbone. EfficientNet rescales inside its own
# model (its preprocess_input is the identity), so it needs no layer.
PREPROCESSING_MODES = {
    "vgg16": "caffe",
    "resnet50": "caffe",
    "mobilenet": "tf",
    "mobilenet_v2": "tf",
    "efficientnet_b0": None,
}

AUGMENTATIONS = "flip[:horizontal|vertical|horizontal_and_vertical], rotation:<factor>, zoom:<factor>"


@keras.saving.register_keras_serializable(package="transferlab")
class ImageNetPreprocessing(keras.layers.Layer):
    """`keras.applications.imagenet_utils.preprocess_input` as a layer.

    "caffe": RGB -> BGR, minus the ImageNet channel means; "tf": x / 127.5 - 1. The Keras
    function works on backend tensors through keras.ops, so the layer runs on TensorFlow and JAX.
    """

    def __init__(self, mode: str, **kwargs):
        super().__init__(**kwargs)
        if mode not in ("caffe", "tf", "torch"):
            raise ValueError(f"mode must be caffe, tf or torch, got {mode!r}")
        self.mode = mode

    def call(self, inputs):
        return keras.applications.imagenet_utils.preprocess_input(inputs, mode=self.mode)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return {**super().get_config(), "mode": self.mode}


def preprocessing_layer(architecture: str):
    """The layer a backbone's inputs go through, or None when the model does it itself."""
    mode = PREPROCESSING_MODES[architecture]
    return ImageNetPreprocessing(mode, name=f"preprocess_{mode}") if mode else None


def resize(x, size: int | None):
    """keras.layers.Resizing to size x size; x itself when size is None or x already has that size.

    Called with an explicit training=False: Resizing's call() defaults to training=True, and in
    Keras 3.15 that default leaks to the layers after it when a model is called without a training
    argument (BatchNormalization then uses batch statistics and updates its moving averages).
    Resizing does the same thing in both modes, and fit() still overrides the flag downstream.
    """
    if size is None or tuple(x.shape[1:3]) == (size, size):
        return x
    return keras.layers.Resizing(size, size, name="resize")(x, training=False)


def grayscale_to_rgb(x):
    """Repeat a single channel three times (what ImageNet backbones take)."""
    return keras.layers.Concatenate(axis=-1, name="grayscale_to_rgb")([x, x, x])


def augmentation_layers(specs) -> list:
    """Random augmentation layers from config strings such as "flip", "rotation:0.1", "zoom:0.1".

    Keras' random layers only act in training (fit); predict and evaluate see the images unchanged.
    """
    layers = []
    for i, spec in enumerate(specs):
        name, _, argument = str(spec).partition(":")
        try:
            if name == "flip":
                layers.append(keras.layers.RandomFlip(argument or "horizontal", name=f"augment_{i}_flip"))
            elif name == "rotation":
                layers.append(keras.layers.RandomRotation(float(argument), name=f"augment_{i}_rotation"))
            elif name == "zoom":
                layers.append(keras.layers.RandomZoom(float(argument), name=f"augment_{i}_zoom"))
            else:
                raise ValueError(name)
        except ValueError:
            raise ConfigError("model.augmentation", spec, f"allowed: {AUGMENTATIONS}") from None
    return layers


def augment(x, layers):
    for layer in layers:
        x = layer(x)
    return x
