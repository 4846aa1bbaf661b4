"""Models on a text input's token features (TF-IDF or counts over the training vocabulary)."""

import keras

from transferlab.data.inputs import InputKind
from transferlab.models.base import ModelBuilder, Pretraining
from transferlab.models.layers import classification_output, dense_stack, encoder_features, named_inputs


class TextModel(ModelBuilder):
    """embedding_dim null: a linear model on the token features, i.e. logistic regression (seed 003's
    TF-IDF + LogisticRegression, with an L2 penalty `l2` on the weights). Otherwise an embedding bag:
    each token's learned `embedding_dim`-vector, weighted by its feature value and summed (a Dense
    layer without bias on the bag of tokens), then `hidden_units`; that body is the encoder, which
    transfer strategies pretrain with labels, freeze, fine-tune or adapt."""

    accepts = (InputKind.TEXT,)

    def __init__(
        self,
        name: str = "text_linear",
        embedding_dim: int | None = None,
        hidden_units=(),
        dropout: float = 0.0,
        activation: str = "relu",
        l2: float = 0.0,
    ):
        super().__init__(name)
        self.embedding_dim, self.hidden_units = embedding_dim, list(hidden_units)
        self.dropout, self.activation, self.l2 = dropout, activation, l2
        self.pretraining = Pretraining.NONE if embedding_dim is None else Pretraining.SUPERVISED

    def regularizer(self):
        return keras.regularizers.L2(self.l2) if self.l2 else None

    def build_encoder(self, specs) -> keras.Model | None:
        if self.embedding_dim is None:
            return None
        spec = self.the_input(specs)
        inputs = named_inputs(specs)
        bag = keras.layers.Dense(
            self.embedding_dim, use_bias=False, kernel_regularizer=self.regularizer(), name="token_embedding"
        )(inputs[spec.name])
        x = keras.layers.Activation(self.activation, name="embedding_activation")(bag)
        return keras.Model(
            inputs, dense_stack(x, self.hidden_units, self.activation, name="text_hidden"), name="encoder"
        )

    def build_classifier(self, specs, n_classes: int, encoder=None) -> keras.Model:
        """The output on the token features (linear) or on the encoder (fresh unless given)."""
        spec = self.the_input(specs)
        inputs = named_inputs(specs)
        encoder = encoder if encoder is not None else self.build_encoder(specs)
        x = inputs[spec.name] if encoder is None else encoder_features(inputs, encoder)
        if self.dropout > 0:
            x = keras.layers.Dropout(self.dropout, name="features_dropout")(x)
        return keras.Model(inputs, classification_output(x, n_classes, self.regularizer()), name=self.name)
