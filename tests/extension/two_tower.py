"""A model added from outside the package, as a user would: one Dense branch per table input,
concatenated, then a head. tests/test_multi_input.py runs it through run.py with
`hydra.searchpath` pointing at tests/extension/conf and this folder on PYTHONPATH."""

import keras

from transferlab.data.inputs import InputKind
from transferlab.errors import ConfigError
from transferlab.models.base import ModelBuilder, Pretraining
from transferlab.models.layers import classification_output, encoder_features, named_inputs


class TwoTower(ModelBuilder):
    accepts = (InputKind.TABLE,)
    pretraining = Pretraining.SUPERVISED  # frozen/finetune pretrain the whole classifier first

    def __init__(self, name: str = "two_tower", branch_units: int = 8, head_units: int = 8):
        super().__init__(name)
        self.branch_units, self.head_units = branch_units, head_units

    def check(self, specs) -> None:
        if len(specs) < 2 or any(spec.kind != InputKind.TABLE for spec in specs.values()):
            raise ConfigError("model", self.name, "needs two or more table inputs (set dataset.inputs)")

    def build_encoder(self, specs) -> keras.Model:
        """One branch per input (its own nested model), concatenated."""
        inputs = named_inputs(specs)
        branches = [
            keras.Model(
                inputs[name],
                keras.layers.Dense(self.branch_units, activation="relu")(inputs[name]),
                name=f"{name}_branch",
            )(inputs[name])
            for name in specs
        ]
        return keras.Model(inputs, keras.layers.Concatenate(name="towers")(branches), name="encoder")

    def build_classifier(self, specs, n_classes: int, encoder=None) -> keras.Model:
        encoder = encoder if encoder is not None else self.build_encoder(specs)
        inputs = named_inputs(specs)
        x = keras.layers.Dense(self.head_units, activation="relu", name="head")(encoder_features(inputs, encoder))
        return keras.Model(inputs, classification_output(x, n_classes), name="two_tower")
