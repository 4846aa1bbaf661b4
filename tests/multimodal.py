"""A small HAM10000-like dataset of two inputs (a `metadata` table and an RGB `image`) and
two-input Keras models for evaluation and explainer tests, until the real loader and fusion models land."""

import keras
import numpy as np
import pandas as pd

from transferlab.data.inputs import Examples
from transferlab.data.prepared import PreparedData

from model_inputs import images, table

SPECS = table(4, "metadata") | images((8, 8, 3))
CLASSES = ["akiec", "bcc", "nv"]


def two_input_model(image_weight=None, seed: int = 0) -> keras.Model:
    """softmax(Dense(metadata) + Dense(pooled conv(image))); image_weight="zeros" makes a model whose
    output depends on the metadata only (the image branch still exists, with its conv layer); the
    default weighs both inputs."""
    keras.utils.set_random_seed(seed)
    metadata, image = keras.Input((4,), name="metadata"), keras.Input((8, 8, 3), name="image")
    x = keras.layers.Conv2D(4, 3, padding="same", activation="relu", name="conv")(
        keras.layers.Rescaling(1 / 255)(image)
    )
    pooled = keras.layers.GlobalAveragePooling2D()(x)
    image_logits = keras.layers.Dense(
        3, kernel_initializer=image_weight or keras.initializers.RandomNormal(stddev=10.0), name="image_head"
    )(pooled)
    table_logits = keras.layers.Dense(3, kernel_initializer=keras.initializers.RandomNormal(stddev=2.0))(metadata)
    outputs = keras.layers.Activation("softmax", name="output")(keras.layers.Add()([table_logits, image_logits]))
    return keras.Model({"metadata": metadata, "image": image}, outputs, name="fusion")


def rows(n: int, seed: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return {
        "metadata": rng.normal(size=(n, 4)).astype("float32"),
        "image": rng.uniform(0, 255, (n, 8, 8, 3)).astype("float32"),
    }


def two_input_data(model: keras.Model, n: int = 90, attributes: pd.DataFrame | None = None) -> PreparedData:
    """Train, validation and test rows labelled with the model's own predictions (so it is right on
    every row, and an input it relies on is needed to stay right)."""
    splits = []
    for seed in range(3):
        inputs = rows(n, seed)
        labels = keras.ops.convert_to_numpy(model(inputs, training=False)).argmax(axis=1)
        splits.append(Examples(inputs, labels))
    return PreparedData(*splits, SPECS, CLASSES, {}, pd.DataFrame(), "test", "test", test_attributes=attributes)
