"""Multilayer perceptron (seed 000's baseline: Dense 32 -> Dropout 0.2 -> Dense 16 -> output)."""

import keras

from transferlab.data.inputs import InputKind
from transferlab.models.base import ModelBuilder
from transferlab.models.layers import classification_output, dense_stack, encoder_features, named_inputs


class MLP(ModelBuilder):
    """Dense layers on one table input; no encoder of its own (a transfer strategy supplies one)."""

    accepts = (InputKind.TABLE,)

    def __init__(self, name: str = "mlp", hidden_units=(32, 16), dropout: float = 0.2, activation: str = "relu"):
        super().__init__(name)
        self.hidden_units, self.dropout, self.activation = list(hidden_units), dropout, activation

    def build_encoder(self, specs):
        return None

    def build_classifier(self, specs, n_classes: int, encoder=None) -> keras.Model:
        """The MLP on raw features, or on top of a given (pretrained) encoder."""
        spec = self.the_input(specs)
        inputs = named_inputs(specs)
        x = encoder_features(inputs, encoder) if encoder is not None else inputs[spec.name]
        x = dense_stack(x, self.hidden_units, self.activation, self.dropout)
        return keras.Model(inputs, classification_output(x, n_classes), name="mlp")
