"""Multimodal fusion (seed 002): one single-input model per dataset input, chosen by the input's kind.

Each input gets the branch builder of its kind (`model.branches.<kind>`, any model option), built
on that input alone, so its classifier is exactly that model's single-modality classifier. The
branch's *feature layer* is the input of its classifier's `output` layer (the MLP's last hidden
layer, the CNN's Dense/Dropout stack, a backbone's pooled Dense features). The fused encoder
concatenates every branch's features; the fused classifier puts a Dense head on it.
"""

import copy
from collections.abc import Mapping
from contextlib import contextmanager
from dataclasses import dataclass

import keras

from transferlab.data.inputs import InputKind, InputSpec
from transferlab.errors import ConfigError
from transferlab.models.base import ModelBuilder
from transferlab.models.layers import classification_output, dense_stack, model_input, named_inputs

# build_encoder builds branch classifiers only for their feature layers, which do not depend on the class count.
ANY_CLASS_COUNT = 2


def feature_extractor(classifier: keras.Model, name: str) -> keras.Model:
    """A single-input classifier up to its feature layer, the input of its `output` layer."""
    return keras.Model(classifier.input, classifier.get_layer("output").input, name=f"{name}_features")


def renamed(model: keras.Model, name: str) -> keras.Model:
    """The same network (same layers and weights) under another name, so branches of one kind can sit side by side."""
    return keras.Model(model.input, model.output, name=name)


@dataclass
class Branch:
    """One input's single-input classifier (named `branch_<input>`), the builder that made it and
    that builder's encoder inside it (None when it has none, or when the classifier was loaded)."""

    name: str
    builder: ModelBuilder
    classifier: keras.Model
    encoder: keras.Model | None

    def features(self) -> keras.Model:
        return feature_extractor(self.classifier, self.name)


@contextmanager
def branch_errors(kind: InputKind):
    """A branch builder's ConfigError (`model.image_size=...`) renamed to its key under the fusion
    model (`model.branches.image.image_size=...`)."""
    try:
        yield
    except ConfigError as err:
        if not err.key.startswith("model"):
            raise
        raise ConfigError(
            f"model.branches.{kind.value}" + err.key.removeprefix("model"), err.value, err.allowed
        ) from err


class Fusion(ModelBuilder):
    """Branches per input kind -> concatenated feature layers (the encoder) -> Dense head -> output.

    branches: input kind (table, image, text) -> a model builder (Hydra builds them from
    conf/model options). head_units / head_dropout: the fused head (seed 002: Dense 128 -> 64),
    Dropout between its layers when head_dropout > 0.
    """

    def __init__(
        self,
        branches: Mapping[str, ModelBuilder],
        name: str = "fusion",
        head_units=(128, 64),
        head_dropout: float = 0.0,
        activation: str = "relu",
    ):
        super().__init__(name)
        kinds = [kind.value for kind in InputKind]
        for kind, builder in branches.items():
            if kind not in kinds:
                raise ConfigError("model.branches", kind, f"not an input kind; allowed: {', '.join(kinds)}")
            if not isinstance(builder, ModelBuilder):
                raise ConfigError(f"model.branches.{kind}", builder, "must be a model config (a conf/model option)")
        self.branches = {InputKind(kind): builder for kind, builder in branches.items()}
        self.accepts = tuple(self.branches)
        self.head_units, self.head_dropout, self.activation = list(head_units), head_dropout, activation

    @property
    def pretrained(self) -> bool:
        return all(builder.pretrained for builder in self.branches.values())

    @property
    def initial_weights(self) -> str:
        return ", ".join(f"{kind.value}={builder.initial_weights}" for kind, builder in self.branches.items())

    def random_init(self) -> "Fusion":
        fresh = copy.copy(self)
        fresh.branches = {kind: builder.random_init() for kind, builder in self.branches.items()}
        return fresh

    def branch_builder(self, spec: InputSpec) -> ModelBuilder:
        """The builder of the input's kind, or a ConfigError naming the kinds that have one."""
        if spec.kind not in self.branches:
            raise ConfigError(
                "model.branches",
                spec.kind.value,
                f"no branch for input {spec.describe()}; branches: {', '.join(k.value for k in self.branches)}",
            )
        return self.branches[spec.kind]

    def check(self, specs: Mapping[str, InputSpec]) -> None:
        """Two or more inputs, each of a kind with a branch that can take it."""
        if len(specs) < 2:
            raise ConfigError(
                "model",
                self.name,
                f"needs several inputs, one branch each; the dataset has one: "
                f"{', '.join(spec.describe() for spec in specs.values())} "
                "(choose a multimodal dataset, or group a table's columns with dataset.inputs)",
            )
        for spec in specs.values():
            builder = self.branch_builder(spec)
            with branch_errors(spec.kind):
                builder.check({spec.name: spec})

    def build_branch(self, spec: InputSpec, n_classes: int) -> Branch:
        """The input's own single-input classifier, built by the branch builder of its kind."""
        builder, specs = self.branch_builder(spec), {spec.name: spec}
        with branch_errors(spec.kind):
            encoder = builder.build_encoder(specs)
            classifier = builder.build_classifier(specs, n_classes, encoder=encoder)
        return Branch(spec.name, builder, renamed(classifier, f"branch_{spec.name}"), encoder)

    def fused_encoder(self, specs: Mapping[str, InputSpec], extractors: Mapping[str, keras.Model]) -> keras.Model:
        """Named inputs -> each input's feature extractor -> concatenated (the run's `encoder`)."""
        inputs = named_inputs(specs)
        features = [extractors[name](model_input(extractors[name], {name: inputs[name]})) for name in specs]
        return keras.Model(inputs, keras.layers.Concatenate(name="fused_features")(features), name="encoder")

    def build_encoder(self, specs):
        """The fused encoder of fresh branches."""
        self.check(specs)
        return self.fused_encoder(
            specs, {name: self.build_branch(spec, ANY_CLASS_COUNT).features() for name, spec in specs.items()}
        )

    def build_classifier(self, specs, n_classes: int, encoder=None) -> keras.Model:
        """Fused encoder (fresh unless given; trainable branches train with the head) -> head -> output."""
        encoder = encoder if encoder is not None else self.build_encoder(specs)
        inputs = named_inputs(specs)
        x = encoder(model_input(encoder, inputs))
        x = dense_stack(x, self.head_units, self.activation, self.head_dropout, name="head")
        return keras.Model(inputs, classification_output(x, n_classes), name="fusion")
