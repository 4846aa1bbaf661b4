"""Denoising autoencoder whose encoder is pretrained without labels (seed 000)."""
import keras

from transferlab.models.layers import classification_output, dense_stack, encoder_features


class DenoisingAutoencoder:
    input_kind = "table"
    pretrained = False
    pretraining = "reconstruction"   # its encoder learns from unlabelled rows (see build_pretrainer)

    def __init__(self, encoder_units=(64, 32, 16), noise_std=0.05, activation="relu", head_units=(16,), head_dropout=0.0):
        self.encoder_units, self.noise_std, self.activation = list(encoder_units), noise_std, activation
        self.head_units, self.head_dropout = list(head_units), head_dropout

    def build_encoder(self, input_shape: tuple) -> keras.Model:
        """Dense 64 -> 32 -> 16 ("code"); the noise lives in the pretrainer, not here."""
        inputs = keras.Input(tuple(input_shape), name="features")
        return keras.Model(inputs, dense_stack(inputs, self.encoder_units, self.activation, name="encoder"), name="encoder")

    def build_pretrainer(self, encoder: keras.Model) -> keras.Model:
        """GaussianNoise -> encoder -> mirrored decoder -> linear reconstruction (trained with MSE)."""
        input_dim = encoder.input_shape[-1]
        inputs = keras.Input((input_dim,), name="features")
        x = encoder(keras.layers.GaussianNoise(self.noise_std, name="noise")(inputs))
        x = dense_stack(x, self.encoder_units[-2::-1], self.activation, name="decoder")
        return keras.Model(inputs, keras.layers.Dense(input_dim, name="reconstruction")(x), name="denoising_autoencoder")

    def build_classifier(self, input_shape: tuple, n_classes: int, encoder=None) -> keras.Model:
        """Encoder (fresh unless given) -> head Dense 16 -> output."""
        encoder = encoder if encoder is not None else self.build_encoder(input_shape)
        inputs = keras.Input(tuple(input_shape), name="features")
        x = dense_stack(encoder_features(inputs, encoder), self.head_units, self.activation, self.head_dropout, name="head")
        return keras.Model(inputs, classification_output(x, n_classes), name="encoder_classifier")
