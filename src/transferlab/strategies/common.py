"""Pieces the strategies share: where a base model comes from, and how a classifier is trained.

A transfer strategy starts from a base: an earlier run's logged model (`strategy.source.run_id`
or `.model_uri`), a model that comes with pretrained weights (ImageNet backbones), or one
pretrained on the training split inside this run (`source.pretrain`).
Its own stages then train on the adaptation pool (the dataset's extra rows, else the train split).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import keras
import mlflow
from pydantic import Field, field_validator

from transferlab.data.inputs import Examples, InputSpec
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError, first_line
from transferlab.models.base import ModelBuilder, Pretraining
from transferlab.models.layers import classification_loss, model_input, named_inputs
from transferlab.strategies.base import SettingsFor, Strategy
from transferlab.training import StageData, fit_stage
from transferlab.validation import Settings


class ModelSource(Settings):
    """An earlier run's logged model, or any model URI (strategy.source, strategy.sources.<input>)."""

    run_id: str | None = None  # an earlier transferlab run (its logged "encoder" or "keras_model")
    model_uri: str | None = None  # any MLflow model URI or a local .keras file

    @field_validator("run_id", "model_uri", mode="before")
    @classmethod
    def as_text(cls, value):
        """Hydra parses an all-digit id as a number; ids and URIs are text."""
        return None if value is None else str(value)

    def uri(self, artifact: str) -> str | None:
        """The model URI this source names (`artifact` of run_id), or None."""
        if self.model_uri:
            return self.model_uri
        return f"runs:/{self.run_id}/{artifact}" if self.run_id else None


class Source(ModelSource):
    """strategy.source: where a transfer strategy's base model comes from."""

    pretrain: bool = True  # with neither run_id nor model_uri: pretrain the base on the training split here


def source_option():
    """The `source` field of a strategy's Options (a nested mapping in the YAML)."""
    return Field(default_factory=Source, strict=False)


class TransferStrategy(Strategy):
    """A strategy whose base may be an earlier run's model (`Options.source`): frozen, finetune, lora."""

    def input_sources(self, data: PreparedData) -> dict[str, tuple[str, ModelSource]]:
        source = self.options.source
        return {name: ("strategy.source", source) for name in data.specs} if source.run_id or source.model_uri else {}


@dataclass
class Base:
    """A pretrained starting point: always an encoder; a whole classifier when pretraining used labels."""

    encoder: keras.Model | None
    classifier: keras.Model | None
    stage_metrics: dict[str, dict[str, float]]


def stage_data(train: Examples, val: Examples) -> StageData:
    return StageData(train.inputs, train.labels, val.inputs, val.labels)


def fit_classifier(
    classifier, stage: str, data: PreparedData, settings_for: SettingsFor, pool: str = "adapt"
) -> dict[str, float]:
    """Train on the adaptation pool (pool="adapt") or the training split (pool="train")."""
    train = data.adaptation_pool() if pool == "adapt" else data.train
    return fit_stage(
        classifier, stage, stage_data(train, data.val), settings_for(stage), classification_loss(data.n_classes)
    )


def model_inputs(model: keras.Model) -> dict[str, tuple]:
    """A Keras model's inputs: name -> shape of one example."""
    return {tensor.name: tuple(tensor.shape[1:]) for tensor in model.inputs}


def check_model_inputs(
    model: keras.Model, specs: Mapping[str, InputSpec], uri: str, key: str = "strategy.source"
) -> None:
    """ConfigError unless `model` takes the dataset's inputs (one input: by shape; several: by name and shape)."""
    found, expected = model_inputs(model), {name: tuple(spec.shape) for name, spec in specs.items()}
    if len(found) == 1 and len(expected) == 1:
        (found_shape,), (expected_shape,) = found.values(), expected.values()
        if found_shape != expected_shape:
            raise ConfigError(
                key, uri, f"model takes inputs of shape {found_shape}, the dataset's are {expected_shape}"
            )
    elif found != expected:
        raise ConfigError(key, uri, f"model takes inputs {found}, the dataset's are {expected}")


def load_source_model(uri: str, specs: Mapping[str, InputSpec], key: str = "strategy.source") -> keras.Model:
    """A Keras model from an MLflow URI or a local .keras file, checked against the dataset's inputs;
    errors name the config entry `key`."""
    try:
        path = Path(uri).expanduser()
        model = (
            keras.saving.load_model(path)
            if path.suffix == ".keras" and path.is_file()
            else mlflow.keras.load_model(uri)
        )
    except Exception as err:  # MLflow and Keras raise several types for a missing run/model/artifact
        raise ConfigError(key, uri, f"could not load a Keras model ({first_line(err)[:200]})") from err
    check_model_inputs(model, specs, uri, key)
    return with_input_names(model, specs)


def with_input_names(model: keras.Model, specs: Mapping[str, InputSpec]) -> keras.Model:
    """A single-input model whose input has another name than the dataset's one input (a model
    pretrained on SMS spam's `text`, adapted on a CSV's `review`) wrapped to take the dataset's name."""
    (name,) = specs if len(specs) == 1 else (None,)
    if name is None or len(model.inputs) != 1 or model.inputs[0].name == name:
        return model
    inputs = named_inputs(specs)
    return keras.Model(inputs, model(model_input(model, inputs)), name=model.name)


def check_run_exists(run_id: str, key: str) -> None:
    """ConfigError naming `key` unless the tracking store has the run."""
    try:
        mlflow.get_run(run_id)
    except mlflow.exceptions.MlflowException as err:
        raise ConfigError(key, run_id, "no such MLflow run in the tracking store") from err


def check_source(builder: ModelBuilder, source: Source, strategy: str, needs_encoder: bool) -> None:
    """Before any run starts: a transfer strategy needs an existing source run, or permission and
    a way to pretrain its base here (one-line errors otherwise)."""
    if source.run_id:
        check_run_exists(source.run_id, "strategy.source.run_id")
    elif source.model_uri:
        return
    elif not source.pretrain:
        raise ConfigError(
            "strategy.source",
            "none",
            f"strategy={strategy} needs a base model: set strategy.source.run_id, "
            "strategy.source.model_uri, or strategy.source.pretrain=true to pretrain one on the training split",
        )
    elif builder.pretrained:
        return
    elif needs_encoder and builder.pretraining == Pretraining.NONE:
        raise ConfigError(
            "strategy",
            strategy,
            f"needs a pretrained encoder: model {builder.name} has none to pretrain; "
            "use model=autoencoder or model=resnet_mlp (tables), an ImageNet backbone (images), "
            "or set strategy.source.run_id / strategy.source.model_uri",
        )


def train_supervised(builder: ModelBuilder, data: PreparedData, settings_for: SettingsFor, stage: str) -> Base:
    """The whole classifier trained with labels on the training split (strategy=scratch's "train",
    or the "pretrain" stage of a supervised base)."""
    encoder = builder.build_encoder(data.specs)
    classifier = builder.build_classifier(data.specs, data.n_classes, encoder=encoder)
    return Base(encoder, classifier, {stage: fit_classifier(classifier, stage, data, settings_for, pool="train")})


def pretrained_encoder(
    builder: ModelBuilder, data: PreparedData, source: Source, settings_for: SettingsFor, strategy: str
) -> Base:
    """The source run's encoder, or the model's own pretraining on the training split."""
    uri = source.uri("encoder")
    if uri is not None:
        return Base(load_source_model(uri, data.specs), None, {})
    check_source(builder, source, strategy, needs_encoder=True)
    if builder.pretrained:
        return Base(builder.build_encoder(data.specs), None, {})
    if builder.pretraining == Pretraining.SUPERVISED:
        return train_supervised(builder, data, settings_for, "pretrain")
    encoder = builder.build_encoder(data.specs)
    targets = StageData(
        data.train.inputs,
        builder.reconstruction_targets(data.train),
        data.val.inputs,
        builder.reconstruction_targets(data.val),
    )
    stage = fit_stage(
        builder.build_pretrainer(encoder, data.specs),
        "pretrain",
        targets,
        settings_for("pretrain"),
        "mse",
        classify=False,
    )
    return Base(encoder, None, {"pretrain": stage})


def pretrained_classifier(
    builder: ModelBuilder, data: PreparedData, source: Source, settings_for: SettingsFor, strategy: str
) -> Base:
    """The source run's classifier (`keras_model`); for a model with pretrained weights, its encoder
    with a head trained on top; otherwise the whole classifier trained with labels on the training split."""
    uri = source.uri("keras_model")
    if uri is not None:
        return Base(None, load_source_model(uri, data.specs), {})
    check_source(builder, source, strategy, needs_encoder=False)
    if builder.pretrained:
        return head_on_frozen_encoder(
            builder, data, pretrained_encoder(builder, data, source, settings_for, strategy), settings_for
        )
    return train_supervised(builder, data, settings_for, "pretrain")


def head_on_frozen_encoder(builder: ModelBuilder, data: PreparedData, base: Base, settings_for: SettingsFor) -> Base:
    """A new head trained on the frozen encoder of `base` (stage "frozen"): the encoder-only base
    becomes a whole classifier, without random head gradients reaching the pretrained features."""
    base.encoder.trainable = False
    classifier = builder.build_classifier(data.specs, data.n_classes, encoder=base.encoder)
    stages = base.stage_metrics | {"frozen": fit_classifier(classifier, "frozen", data, settings_for)}
    return Base(base.encoder, classifier, stages)


def starting_encoder(builder: ModelBuilder, data: PreparedData, source: Source, strategy: str) -> keras.Model:
    """For checks: the encoder a frozen/finetune run starts from (the source's, or a fresh one)."""
    check_source(builder, source, strategy, needs_encoder=True)
    uri = source.uri("encoder")
    return load_source_model(uri, data.specs) if uri else builder.build_encoder(data.specs)
