"""Seed 001's residual network for HIGGS, built from stock Keras layers (no custom classes, so
`.keras` files load with plain `keras.saving.load_model`)."""

import keras

from transferlab.data.inputs import InputKind
from transferlab.models.base import ModelBuilder, Pretraining
from transferlab.models.layers import classification_output, encoder_features, named_inputs, residual_block


class ResidualMLP(ModelBuilder):
    """Dense 128 -> `blocks` residual blocks of width 128 -> Dense 64 -> output.

    The default size has 78,081 parameters, as in seed 001. Its body is the encoder; it is
    pretrained with labels (a supervised base model), so transfer strategies start from it.
    """

    accepts = (InputKind.TABLE,)
    pretraining = Pretraining.SUPERVISED

    def __init__(
        self,
        name: str = "resnet_mlp",
        width: int = 128,
        blocks: int = 2,
        head_units: int = 64,
        activation: str = "relu",
    ):
        super().__init__(name)
        self.width, self.blocks, self.head_units, self.activation = width, blocks, head_units, activation

    def build_encoder(self, specs) -> keras.Model:
        spec = self.the_input(specs)
        inputs = named_inputs(specs)
        x = keras.layers.Dense(self.width, activation=self.activation, name="dense_in")(inputs[spec.name])
        for i in range(self.blocks):
            x = residual_block(x, self.width, self.activation, name=f"res_block_{i + 1}")
        x = keras.layers.Dense(self.head_units, activation=self.activation, name="dense_head")(x)
        return keras.Model(inputs, x, name="encoder")

    def build_classifier(self, specs, n_classes: int, encoder=None) -> keras.Model:
        """The encoder (fresh unless given) and a new output layer."""
        encoder = encoder if encoder is not None else self.build_encoder(specs)
        inputs = named_inputs(specs)
        return keras.Model(
            inputs, classification_output(encoder_features(inputs, encoder), n_classes), name="resnet_mlp"
        )
