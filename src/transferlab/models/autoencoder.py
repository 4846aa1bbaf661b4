"""Denoising autoencoder whose encoder is pretrained without labels (seed 000)."""

import keras

from transferlab.data.inputs import InputKind
from transferlab.models.base import ModelBuilder, Pretraining
from transferlab.models.layers import classification_output, dense_stack, encoder_features, named_inputs


class DenoisingAutoencoder(ModelBuilder):
    """Encoder Dense 64 -> 32 -> 16 on one table input, pretrained to reconstruct its rows."""

    accepts = (InputKind.TABLE,)
    pretraining = Pretraining.RECONSTRUCTION  # its encoder learns from unlabelled rows (see build_pretrainer)

    def __init__(
        self,
        name: str = "autoencoder",
        encoder_units=(64, 32, 16),
        noise_std=0.05,
        activation="relu",
        head_units=(16,),
        head_dropout=0.0,
    ):
        super().__init__(name)
        self.encoder_units, self.noise_std, self.activation = list(encoder_units), noise_std, activation
        self.head_units, self.head_dropout = list(head_units), head_dropout

    def build_encoder(self, specs) -> keras.Model:
        """Dense 64 -> 32 -> 16 ("code"); the noise lives in the pretrainer, not here."""
        spec = self.the_input(specs)
        inputs = named_inputs(specs)
        return keras.Model(
            inputs, dense_stack(inputs[spec.name], self.encoder_units, self.activation, name="encoder"), name="encoder"
        )

    def build_pretrainer(self, encoder: keras.Model, specs) -> keras.Model:
        """GaussianNoise -> encoder -> mirrored decoder -> linear reconstruction (trained with MSE)."""
        spec = self.the_input(specs)
        inputs = named_inputs(specs)
        noisy = keras.layers.GaussianNoise(self.noise_std, name="noise")(inputs[spec.name])
        x = encoder({spec.name: noisy})
        x = dense_stack(x, self.encoder_units[-2::-1], self.activation, name="decoder")
        return keras.Model(
            inputs, keras.layers.Dense(spec.shape[-1], name="reconstruction")(x), name="denoising_autoencoder"
        )

    def reconstruction_targets(self, examples):
        """The (clean) rows themselves."""
        (rows,) = examples.inputs.values()
        return rows

    def build_classifier(self, specs, n_classes: int, encoder=None) -> keras.Model:
        """Encoder (fresh unless given) -> head Dense 16 -> output."""
        encoder = encoder if encoder is not None else self.build_encoder(specs)
        inputs = named_inputs(specs)
        x = dense_stack(
            encoder_features(inputs, encoder), self.head_units, self.activation, self.head_dropout, name="head"
        )
        return keras.Model(inputs, classification_output(x, n_classes), name="encoder_classifier")
