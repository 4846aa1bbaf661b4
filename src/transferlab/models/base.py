"""The interface every model builder implements, so strategies, checks and logging never probe.

A builder is configured by conf/model/<name>.yaml (built with hydra.utils.instantiate) and builds
Keras functional models whose inputs are named after the dataset's inputs (`keras.Input(name=)`),
called with a mapping `input name -> array`.
"""

from abc import ABC, abstractmethod
from collections.abc import Mapping
from enum import Enum

import keras
import numpy as np

from transferlab.data.inputs import Examples, InputKind, InputSpec
from transferlab.errors import ConfigError

# What the one-line error suggests when a single-input model meets inputs of another kind.
MODELS_FOR = {
    InputKind.TABLE: "mlp, autoencoder or resnet_mlp",
    InputKind.IMAGE: "cnn or a keras.applications backbone (vgg16, resnet50, mobilenet_v2, efficientnet_b0, mobilenet)",
    InputKind.TEXT: "text_linear or text_bag",
}


class Pretraining(str, Enum):
    """How transfer strategies pretrain the encoder on the training split when no source is given."""

    NONE = "none"  # it cannot: a source run or pretrained weights are needed
    SUPERVISED = "supervised"  # the whole classifier, with labels
    RECONSTRUCTION = "reconstruction"  # unlabelled, through build_pretrainer


class ModelBuilder(ABC):
    """Builds a run's networks for the dataset's named inputs.

    The encoder maps the inputs to features (transfer strategies freeze, pretrain or load it);
    the classifier is encoder + head + output. A model with several inputs builds one encoder whose
    branches are per input. `name` is the model option's name, used in error messages.
    """

    accepts: tuple[InputKind, ...] = ()  # the input kinds the model takes
    pretraining: Pretraining = Pretraining.NONE

    def __init__(self, name: str):
        self.name = name

    @property
    def pretrained(self) -> bool:
        """True when the encoder comes with trained weights (then no pretraining stage is needed)."""
        return False

    @property
    def initial_weights(self) -> str:
        """What the encoder starts from, logged as a run tag (`random`, `imagenet`, a file path)."""
        return "random"

    def random_init(self) -> "ModelBuilder":
        """This builder with random initial weights (what strategy=scratch trains)."""
        return self

    def check(self, specs: Mapping[str, InputSpec]) -> None:
        """ConfigError for inputs or settings the model cannot work with. By default: exactly one
        input, of an accepted kind."""
        self.the_input(specs)

    def the_input(self, specs: Mapping[str, InputSpec]) -> InputSpec:
        """The one input of a single-input model, or a ConfigError naming the model and the inputs."""
        kinds = " or ".join(kind.value for kind in self.accepts)
        described = ", ".join(spec.describe() for spec in specs.values())
        if len(specs) != 1:
            raise ConfigError(
                "model",
                self.name,
                f"takes one {kinds} input, the dataset has {len(specs)}: {described}; "
                "choose a model with one branch per input",
            )
        spec = next(iter(specs.values()))
        if spec.kind not in self.accepts:
            raise ConfigError(
                "model",
                self.name,
                f"takes {kinds} inputs, but the dataset's input is {described}; "
                f"choose {MODELS_FOR.get(spec.kind, f'a model for {spec.kind.value} inputs')}",
            )
        return spec

    @abstractmethod
    def build_encoder(self, specs: Mapping[str, InputSpec]) -> keras.Model | None:
        """Named inputs -> features; None for an architecture without a separate encoder."""

    @abstractmethod
    def build_classifier(
        self, specs: Mapping[str, InputSpec], n_classes: int, encoder: keras.Model | None = None
    ) -> keras.Model:
        """Named inputs -> class probabilities, on `encoder` when given (else a fresh one)."""

    def build_pretrainer(self, encoder: keras.Model, specs: Mapping[str, InputSpec]) -> keras.Model:
        """The network that pretrains `encoder` without labels (Pretraining.RECONSTRUCTION only)."""
        raise NotImplementedError(f"{type(self).__name__} has no reconstruction pretraining")

    def reconstruction_targets(self, examples: Examples) -> np.ndarray:
        """What build_pretrainer's network learns to output for `examples`."""
        raise NotImplementedError(f"{type(self).__name__} has no reconstruction pretraining")

    def backbone(self, encoder: keras.Model) -> keras.Model:
        """The part of the encoder whose last layers strategy=finetune's `unfreeze` counts."""
        return encoder
