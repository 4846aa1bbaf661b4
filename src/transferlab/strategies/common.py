"""Pieces every strategy uses: the result type, stage data, and where a base model comes from.

A transfer strategy starts from a base: an earlier run's logged model (`strategy.source.run_id`
or `.model_uri`), a model that comes with pretrained weights (ImageNet backbones), or one
pretrained on the training split inside this run (`source.pretrain`).
Its own stages then train on the adaptation pool (the dataset's extra rows, else the train split).
"""
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import keras
import mlflow
from omegaconf import DictConfig

from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.models.layers import classification_loss
from transferlab.training import StageData, fit_stage

SettingsFor = Callable[[str], DictConfig]  # stage name -> merged trainer settings


@dataclass
class TrainedModel:
    classifier: keras.Model                 # as trained (its parameter counts are logged)
    encoder: keras.Model | None             # logged as the run's "encoder" so later runs can transfer it
    stage_metrics: dict[str, dict[str, float]]
    exported: keras.Model | None = None     # what is evaluated and logged when it differs (merged LoRA)
    metrics: dict[str, float] = field(default_factory=dict)  # strategy-specific run metrics

    @property
    def deployable(self) -> keras.Model:
        return self.exported if self.exported is not None else self.classifier


@dataclass
class Base:
    """A pretrained starting point: always an encoder; a whole classifier when pretraining used labels."""

    encoder: keras.Model | None
    classifier: keras.Model | None
    stage_metrics: dict[str, dict[str, float]]


def fit_classifier(classifier, stage: str, data: PreparedData, settings_for: SettingsFor, pool: str = "adapt") -> dict[str, float]:
    """Train on the adaptation pool (pool="adapt") or the training split (pool="train")."""
    x, y = data.adaptation_pool() if pool == "adapt" else (data.x_train, data.y_train)
    stage_data = StageData(x, y, data.x_val, data.y_val)
    return fit_stage(classifier, stage, stage_data, settings_for(stage), classification_loss(data.n_classes))


def source_uri(source: DictConfig, artifact: str) -> str | None:
    """The model URI named by strategy.source (`artifact` of source.run_id), or None."""
    if source.get("model_uri"):
        return source.model_uri
    if source.get("run_id"):
        return f"runs:/{source.run_id}/{artifact}"
    return None


def load_source_model(uri: str, input_shape: tuple) -> keras.Model:
    """A Keras model from an MLflow URI or a local .keras file, checked against the data's example shape."""
    try:
        path = Path(uri).expanduser()
        model = keras.saving.load_model(path) if path.suffix == ".keras" and path.is_file() else mlflow.keras.load_model(uri)
    except Exception as err:  # MLflow and Keras raise several types for a missing run/model/artifact
        raise ConfigError("strategy.source", uri, f"could not load a Keras model ({str(err).splitlines()[0][:200]})") from err
    if tuple(model.input_shape[1:]) != tuple(input_shape):
        raise ConfigError("strategy.source", uri, f"model takes inputs of shape {tuple(model.input_shape[1:])}, "
                          f"the dataset's are {tuple(input_shape)}")
    return model


def check_source(spec, source: DictConfig | None, strategy: str, needs_encoder: bool) -> None:
    """Before any run starts: a transfer strategy needs an existing source run, or permission and
    a way to pretrain its base here (one-line errors otherwise)."""
    if source is None:
        return
    if source.get("run_id"):
        try:
            mlflow.get_run(source.run_id)
        except mlflow.exceptions.MlflowException as err:
            raise ConfigError("strategy.source.run_id", source.run_id, "no such MLflow run in the tracking store") from err
    elif source.get("model_uri"):
        return
    elif not source.get("pretrain", True):
        raise ConfigError("strategy.source", "none", f"strategy={strategy} needs a base model: set strategy.source.run_id, "
                          "strategy.source.model_uri, or strategy.source.pretrain=true to pretrain one on the training split")
    elif spec.pretrained:
        return
    elif needs_encoder and getattr(spec, "pretraining", None) is None:
        weights = " or a backbone with model.weights" if hasattr(spec, "weights") else ""
        raise ConfigError("strategy", strategy, f"needs a pretrained encoder: model {type(spec).__name__} has none to pretrain; "
                          f"use model=autoencoder or model=resnet_mlp{weights}, or set strategy.source.run_id / strategy.source.model_uri")


def supervised_base(spec, data: PreparedData, settings_for: SettingsFor) -> Base:
    """The whole classifier trained with labels on the training split (stage "pretrain")."""
    encoder = spec.build_encoder(data.input_shape)
    classifier = spec.build_classifier(data.input_shape, data.n_classes, encoder=encoder)
    return Base(encoder, classifier, {"pretrain": fit_classifier(classifier, "pretrain", data, settings_for, pool="train")})


def pretrained_encoder(spec, data: PreparedData, source: DictConfig, settings_for: SettingsFor, strategy: str) -> Base:
    """The source run's encoder, or the model's own pretraining on the training split."""
    uri = source_uri(source, "encoder")
    if uri is not None:
        return Base(load_source_model(uri, data.input_shape), None, {})
    check_source(spec, source, strategy, needs_encoder=True)
    if spec.pretrained:
        return Base(spec.build_encoder(data.input_shape), None, {})
    if spec.pretraining == "supervised":
        return supervised_base(spec, data, settings_for)
    encoder = spec.build_encoder(data.input_shape)
    reconstruction = StageData(data.x_train, data.x_train, data.x_val, data.x_val)
    stage = fit_stage(spec.build_pretrainer(encoder), "pretrain", reconstruction, settings_for("pretrain"), "mse", classify=False)
    return Base(encoder, None, {"pretrain": stage})


def pretrained_classifier(spec, data: PreparedData, source: DictConfig, settings_for: SettingsFor, strategy: str) -> Base:
    """The source run's classifier (`keras_model`); for a model with pretrained weights, its encoder
    with a head trained on top; otherwise the whole classifier trained with labels on the training split."""
    uri = source_uri(source, "keras_model")
    if uri is not None:
        return Base(None, load_source_model(uri, data.input_shape), {})
    check_source(spec, source, strategy, needs_encoder=False)
    if spec.pretrained:
        return head_on_frozen_encoder(spec, data, pretrained_encoder(spec, data, source, settings_for, strategy), settings_for)
    return supervised_base(spec, data, settings_for)


def head_on_frozen_encoder(spec, data: PreparedData, base: Base, settings_for: SettingsFor) -> Base:
    """A new head trained on the frozen encoder of `base` (stage "frozen"): the encoder-only base
    becomes a whole classifier, without random head gradients reaching the pretrained features."""
    base.encoder.trainable = False
    classifier = spec.build_classifier(data.input_shape, data.n_classes, encoder=base.encoder)
    stages = base.stage_metrics | {"frozen": fit_classifier(classifier, "frozen", data, settings_for)}
    return Base(base.encoder, classifier, stages)
