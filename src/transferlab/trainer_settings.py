"""Trainer settings (conf/trainer/*.yaml, and each strategy stage's merge of them with
strategy.stages.<stage>): types, ranges and choices, checked before anything is loaded."""
from typing import Literal

from transferlab.runtime import BACKENDS, DEVICES, PRECISIONS
from transferlab.validation import NonNegativeInt, PositiveInt, PositiveNumber, Settings, is_int, rule

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad")

StepsPerExecution = rule(lambda v: v == "auto" or (is_int(v) and v > 0), "must be auto or a positive integer")
FolderOrNull = rule(lambda v: v is None or (isinstance(v, str) and v.strip() != ""), "must be a folder path or null")


class EarlyStopping(Settings):
    enabled: bool = True
    monitor: str = "val_loss"
    patience: NonNegativeInt = 20
    restore_best_weights: bool = True


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
    early_stopping: EarlyStopping | None = None   # None: no early stopping
    verbose: int = 0
