"""The interface every training strategy implements, and what a strategy returns.

A strategy is built by Hydra from conf/strategy/<name>.yaml: its options (rank, source, ...) are
validated when it is built, `check` runs every check that needs the data or a built model before
any MLflow run exists, and `train` runs its stages (pretrain, frozen, finetune, ...), each an MLflow
child run with its own trainer settings (`strategy.stages.<stage>`).
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Callable, ClassVar

import keras
from omegaconf import DictConfig

from transferlab.data.prepared import PreparedData
from transferlab.models.base import ModelBuilder
from transferlab.validation import Settings, validate

SettingsFor = Callable[[str], DictConfig]  # stage name -> merged trainer settings


@dataclass
class TrainedModel:
    classifier: keras.Model  # as trained (its parameter counts are logged)
    encoder: keras.Model | None  # logged as the run's "encoder" so later runs can transfer it
    stage_metrics: dict[str, dict[str, float]]
    exported: keras.Model | None = None  # what is evaluated and logged when it differs (merged LoRA)
    metrics: dict[str, float] = field(default_factory=dict)  # strategy-specific run metrics

    @property
    def deployable(self) -> keras.Model:
        return self.exported if self.exported is not None else self.classifier


class Strategy(ABC):
    """A way to train a model builder's networks on a dataset. Subclasses declare `Options` (a
    pydantic model of their config keys) and implement `check` and `train`."""

    Options: ClassVar[type[Settings]]

    def __init__(self, **options):
        self.options = validate(self.Options, options, "strategy")

    def input_sources(self, data: PreparedData) -> dict[str, tuple[str, object]]:
        """Input name -> (config key, ModelSource): the earlier run or model file the input's network
        is loaded from; a text input then takes that run's vocabulary (text_sources.py). None by default."""
        return {}

    def starting_builder(self, builder: ModelBuilder) -> ModelBuilder:
        """The builder whose networks the strategy trains (strategy=scratch: without pretrained weights)."""
        return builder

    @abstractmethod
    def check(self, builder: ModelBuilder, data: PreparedData) -> keras.Model:
        """ConfigError for anything that cannot work (a missing source run, an impossible rank...).
        Returns the classifier as training starts from it (untrained head), for explainers' own
        checks; throw it away after."""

    @abstractmethod
    def train(self, builder: ModelBuilder, data: PreparedData, settings_for: SettingsFor) -> TrainedModel:
        """Run the stages; the returned model is what the run evaluates and logs."""
