"""Trainer settings (conf/trainer/*.yaml, and each strategy stage's merge of them with
strategy.stages.<stage>): types, ranges and choices, checked before anything is loaded."""

from typing import Any, Literal

from omegaconf import DictConfig, OmegaConf
from pydantic import Field

from transferlab.errors import ConfigError
from transferlab.runtime import BACKENDS, DEVICES, DISTRIBUTE, PRECISIONS
from transferlab.validation import (
    FolderOrNull,
    NonNegativeInt,
    PositiveInt,
    PositiveNumber,
    Settings,
    is_int,
    rule,
    validate,
)

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad")

StepsPerExecution = rule(lambda v: v == "auto" or (is_int(v) and v > 0), "must be auto or a positive integer")


class EarlyStopping(Settings):
    """trainer.callbacks.early_stopping (keras.callbacks.EarlyStopping's arguments we set)."""

    monitor: str = "val_loss"
    patience: NonNegativeInt = 20
    restore_best_weights: bool = True


class EveryInterval(Settings):
    """trainer.callbacks.progress / trim_heap."""

    interval_s: PositiveNumber


# trainer.distribute=multi_worker on TensorFlow is refused with the reason: with Keras 3.15,
# model.fit under MultiWorkerMirroredStrategy fails on its first batch (keras-team/keras#20585,
# #20329; tried on 2 localhost workers, 2026-12-03). JAX's multi-process DataParallel works.
MULTI_WORKER_ON_TENSORFLOW = (
    "is not supported on tensorflow: Keras 3's fit fails under MultiWorkerMirroredStrategy "
    "(keras-team/keras#20585); use trainer.backend=jax (README: 'Data-parallel training')"
)

# The settings of the callbacks conf/callbacks/ offers; a user's own callback node is built as given.
CALLBACK_SETTINGS = {"early_stopping": EarlyStopping, "progress": EveryInterval, "trim_heap": EveryInterval}


class TrainerSettings(Settings):
    """Everything under `trainer`; the comments in conf/trainer/default.yaml say what each does."""

    backend: Literal[BACKENDS] = "tensorflow"
    device: Literal[DEVICES] = "auto"
    precision: Literal[PRECISIONS] = "float32"
    seed: int = 42
    epochs: PositiveInt = 200
    batch_size: PositiveInt = 32
    optimizer: Literal[OPTIMIZERS] = "adam"
    learning_rate: PositiveNumber = 1e-3
    class_weight: Literal["balanced", None] = "balanced"
    steps_per_execution: StepsPerExecution = "auto"
    jit_compile: Literal["auto", True, False] = "auto"
    feed: Literal["auto", "arrays", "batches"] = "auto"
    compilation_cache_dir: FolderOrNull = None
    distribute: Literal[DISTRIBUTE] = "none"
    cpu_devices: PositiveInt = 1
    callbacks: dict[str, Any] | None = Field(None, strict=False)  # name -> node with _target_, or null (off)
    verbose: int = 0


def check_trainer(trainer: DictConfig, key: str = "trainer") -> None:
    """The trainer's settings and each of its callbacks' (a callback set to null is off)."""
    if trainer.get("distribute") == "multi_worker" and trainer.get("backend") == "tensorflow":
        raise ConfigError(f"{key}.distribute", "multi_worker", MULTI_WORKER_ON_TENSORFLOW)
    validate(TrainerSettings, trainer, key)
    for name, node in (trainer.callbacks or {}).items():
        if node is None:
            continue
        if "_target_" not in node:
            raise ConfigError(
                f"{key}.callbacks.{name}",
                OmegaConf.to_container(node),
                "needs a _target_ (the callback class), or null",
            )
        if name in CALLBACK_SETTINGS:
            settings = {k: v for k, v in OmegaConf.to_container(node, resolve=True).items() if k != "_target_"}
            validate(CALLBACK_SETTINGS[name], settings, f"{key}.callbacks.{name}")
