"""Multilayer perceptron (seed 000's baseline: Dense 32 -> Dropout 0.2 -> Dense 16 -> output)."""
import keras

from transferlab.models.layers import classification_output, dense_stack, encoder_features


class MLP:
    input_kind = "table"
    pretrained = False

    def __init__(self, hidden_units=(32, 16), dropout: float = 0.2, activation: str = "relu"):
        self.hidden_units, self.dropout, self.activation = list(hidden_units), dropout, activation

    def build_encoder(self, input_shape: tuple):
        return None

    def build_classifier(self, input_shape: tuple, n_classes: int, encoder=None) -> keras.Model:
        """The MLP on raw features, or on top of a given (pretrained) encoder."""
        inputs = keras.Input(tuple(input_shape), name="features")
        x = encoder_features(inputs, encoder) if encoder is not None else inputs
        x = dense_stack(x, self.hidden_units, self.activation, self.dropout)
        return keras.Model(inputs, classification_output(x, n_classes), name="mlp")
