"""Pieces every strategy uses: the result type, stage data, and where a pretrained encoder comes from."""
from dataclasses import dataclass
from typing import Callable

import keras
import mlflow
from omegaconf import DictConfig

from transferlab.data.preprocessing import PreparedData
from transferlab.errors import ConfigError
from transferlab.models.layers import classification_loss
from transferlab.training import StageData, fit_stage

SettingsFor = Callable[[str], DictConfig]  # stage name -> merged trainer settings


@dataclass
class TrainedModel:
    classifier: keras.Model
    encoder: keras.Model | None   # logged as the run's "encoder" so later runs can transfer it
    stage_metrics: dict[str, dict[str, float]]


def labelled(data: PreparedData) -> StageData:
    return StageData(data.x_train, data.y_train, data.x_val, data.y_val)


def fit_classifier(classifier, stage: str, data: PreparedData, settings_for: SettingsFor) -> dict[str, float]:
    return fit_stage(classifier, stage, labelled(data), settings_for(stage), classification_loss(data.table.n_classes))


def encoder_uri(source: DictConfig) -> str | None:
    """The MLflow model URI of a pretrained encoder named by strategy.source, or None."""
    if source.get("model_uri"):
        return source.model_uri
    if source.get("run_id"):
        return f"runs:/{source.run_id}/encoder"
    return None


def check_source(spec, source: DictConfig | None, strategy: str) -> None:
    """Before any run starts: an encoder-based strategy needs a source run that exists, or a
    model that can pretrain its own encoder (one-line errors otherwise)."""
    if source is None:
        return
    if source.get("run_id"):
        try:
            mlflow.get_run(source.run_id)
        except mlflow.exceptions.MlflowException as err:
            raise ConfigError("strategy.source.run_id", source.run_id, "no such MLflow run in the tracking store") from err
    elif not source.get("model_uri") and not hasattr(spec, "build_pretrainer"):
        raise ConfigError("strategy", strategy, f"needs a pretrained encoder: model {type(spec).__name__} has none to pretrain; "
                          "use model=autoencoder or set strategy.source.run_id / strategy.source.model_uri")


def pretrained_encoder(spec, data: PreparedData, source: DictConfig, settings_for: SettingsFor, strategy: str):
    """Load the encoder named by `source`, or pretrain the model's own on the training split."""
    uri = encoder_uri(source)
    if uri is not None:
        try:
            encoder = mlflow.keras.load_model(uri)
        except Exception as err:  # MLflow raises several types for a missing run/model/artifact
            raise ConfigError("strategy.source", uri, f"could not load a Keras encoder ({str(err).splitlines()[0][:200]})") from err
        if encoder.input_shape[-1] != data.x_train.shape[1]:
            raise ConfigError("strategy.source", uri, f"encoder takes {encoder.input_shape[-1]} features, the dataset has {data.x_train.shape[1]}")
        return encoder, {}
    check_source(spec, source, strategy)
    encoder = spec.build_encoder(data.x_train.shape[1])
    pretrainer = spec.build_pretrainer(encoder)
    reconstruction = StageData(data.x_train, data.x_train, data.x_val, data.x_val)
    return encoder, {"pretrain": fit_stage(pretrainer, "pretrain", reconstruction, settings_for("pretrain"), "mse", classify=False)}
