"""Train one stage of a strategy as its own MLflow child run."""

import logging
import time
from dataclasses import dataclass

import keras
import mlflow
import numpy as np
from hydra.utils import instantiate
from omegaconf import DictConfig
from sklearn.utils.class_weight import compute_class_weight

from transferlab.batches import ArrayBatches, EvenBatches, n_rows, tensorflow_dataset
from transferlab.checkpoints import ACTIVE, Resumable, StageCheckpoint
from transferlab.distribution import active_replicas, process_shard
from transferlab.evaluation.plots import training_curves
from transferlab.invalid_loss import StopOnInvalidLoss
from transferlab.memory import release_free_memory, trim_c_heap
from transferlab.progress import StageCallback
from transferlab.tracking.epoch_logger import EpochMetricsLogger
from transferlab.tracking.runs import log_figure, tracked_run

# trainer.steps_per_execution=auto: this many batches per compiled call for stages that train on
# at least AUTO_MIN_ROWS rows; smaller stages keep Keras' default of 1. trainer.feed=auto feeds
# such stages batch by batch on TensorFlow.
AUTO_STEPS_PER_EXECUTION = 32
AUTO_MIN_ROWS = 100_000

logger = logging.getLogger(__name__)


@dataclass
class StageData:
    """Inputs and targets of one stage (targets are features for reconstruction pretraining).
    Inputs are one array or a mapping input name -> array; row counts are taken from the targets."""

    x: np.ndarray | dict[str, np.ndarray]
    y: np.ndarray
    x_val: np.ndarray | dict[str, np.ndarray]
    y_val: np.ndarray


class TrimHeapWhileTraining(keras.callbacks.Callback):
    """Returns free C-heap pages to the OS at most every `interval_s` seconds during fit.
    Opt-in: callbacks=[default,trim_heap] (conf/callbacks/trim_heap.yaml), for large data.

    The batch copies that Keras' input pipeline frees stay in glibc's arenas until the fit ends,
    and the run's peak grows with them; trimming during the fit lowers that peak
    (measurements: benchmarks/README.md, 'Why the code is shaped this way').
    """

    async_safe = True  # only calls malloc_trim: fine on Keras' callback thread, no sync with the device

    def __init__(self, interval_s: float = 0.05):
        super().__init__()
        self.interval_s = interval_s
        self.last_trim = time.perf_counter()

    def _trim_if_due(self):
        if time.perf_counter() - self.last_trim >= self.interval_s:
            trim_c_heap()
            self.last_trim = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        self._trim_if_due()

    def on_test_batch_end(self, batch, logs=None):
        self._trim_if_due()


def balanced_class_weight(y: np.ndarray) -> dict[int, float]:
    """sklearn's 'balanced' weights, as seed 000 passes to fit."""
    classes = np.unique(y)
    return {int(c): float(w) for c, w in zip(classes, compute_class_weight("balanced", classes=classes, y=y))}


def parameter_counts(model: keras.Model) -> dict[str, float]:
    trainable = sum(int(np.prod(w.shape)) for w in model.trainable_weights)
    total = model.count_params()
    return {
        "trainable_params": trainable,
        "total_params": total,
        "frozen_fraction": 1 - trainable / total if total else 0.0,
    }


def steps_per_execution(setting, rows: int) -> int:
    """trainer.steps_per_execution: an integer as given; "auto" = AUTO_STEPS_PER_EXECUTION for large
    training sets (fewer host round trips and batch callbacks per epoch), else 1 as before."""
    if setting != "auto":
        return int(setting)
    return AUTO_STEPS_PER_EXECUTION if rows >= AUTO_MIN_ROWS else 1


def feed(setting: str, rows: int) -> str:
    """trainer.feed: "arrays" (the arrays go to fit), "batches" (ArrayBatches), or "auto" = batches
    on TensorFlow for training sets of at least AUTO_MIN_ROWS rows, where its whole-array copy
    costs memory, else arrays (JAX's adapter already slices batch by batch without a copy)."""
    if setting != "auto":
        return setting
    return "batches" if keras.backend.backend() == "tensorflow" and rows >= AUTO_MIN_ROWS else "arrays"


def fit_inputs(
    data: StageData,
    settings: DictConfig,
    how: str,
    start_epoch: int = 0,
    class_weight: dict[int, float] | None = None,
    replicas: int = 1,
) -> dict:
    """fit() arguments for the training and validation rows, fed as `how` (see feed), weighted by
    `class_weight`; a resumed stage's batches start at `start_epoch`'s row order. Split across
    `replicas` devices (trainer.distribute), batches are EvenBatches, the class weights in them."""
    if how == "arrays":
        return {
            "x": data.x,
            "y": data.y,
            "batch_size": settings.batch_size,
            "shuffle": True,
            "validation_data": (data.x_val, data.y_val),
            "class_weight": class_weight,
        }
    if replicas > 1:
        shard = process_shard()
        train = EvenBatches(
            data.x, data.y, settings.batch_size, settings.seed, replicas, class_weight, start_epoch, shard
        )
        val = EvenBatches(data.x_val, data.y_val, settings.batch_size, None, replicas, shard=shard)
        class_weight = None
    else:
        train = ArrayBatches(data.x, data.y, settings.batch_size, seed=settings.seed, start_epoch=start_epoch)
        val = ArrayBatches(data.x_val, data.y_val, settings.batch_size, seed=None)
    if keras.backend.backend() == "tensorflow":
        train, val = tensorflow_dataset(train, replicas > 1), tensorflow_dataset(val, replicas > 1)
    return {"x": train, "validation_data": val, "shuffle": False, "class_weight": class_weight}


def stage_callbacks(settings: DictConfig, stage: str) -> list:
    """The stage's Keras callbacks: the per-epoch MLflow metrics logger and the stop on a NaN loss,
    then each node of trainer.callbacks (conf/callbacks/; a null node is off), built from its
    _target_, the checkpoint last (it saves and restores the others' state). A StageCallback (the
    progress display, the checkpoint) is told the stage's name."""
    callbacks = [EpochMetricsLogger(), StopOnInvalidLoss()]
    for node in (settings.get("callbacks") or {}).values():
        if node is not None:
            callbacks.append(instantiate(node))
    callbacks.sort(key=lambda callback: isinstance(callback, StageCheckpoint))
    for callback in callbacks:
        if isinstance(callback, StageCallback):
            callback.stage = stage
        if isinstance(callback, StageCheckpoint):
            callback.resumables = [c for c in callbacks if isinstance(c, Resumable)]
    return callbacks


def full_history(fitted: dict[str, list], callbacks: list) -> dict[str, list]:
    """The stage's per-epoch logs: this fit's, after those of an interrupted attempt when resumed."""
    for callback in callbacks:
        if isinstance(callback, StageCheckpoint) and callback.job is not None:
            return callback.history(fitted)
    return fitted


def resumed_child_run(stage: str) -> str | None:
    """The id of this stage's child run that an interrupted attempt of the active job left, if any."""
    parent = mlflow.active_run().info
    runs = mlflow.MlflowClient().search_runs(
        [parent.experiment_id],
        filter_string=f"tags.mlflow.parentRunId = '{parent.run_id}' and tags.stage = '{stage}'",
        order_by=["attributes.start_time DESC"],
        max_results=1,
    )
    return runs[0].info.run_id if runs and runs[0].info.status != "FINISHED" else None


def fit_stage(
    model: keras.Model, stage: str, data: StageData, settings: DictConfig, loss: str, classify: bool = True
) -> dict[str, float]:
    """Compile and fit `model` with the stage's settings inside a child run; return its summary metrics.
    The stage's training curves go to the parent run as training_curves/<stage>.png."""
    parent = mlflow.active_run()
    checkpoints = ACTIVE.get()
    if checkpoints is not None and (summary := checkpoints.completed(stage)) is not None:
        checkpoints.restore_completed(model, stage)
        logger.info("stage %s: completed before the interruption, its weights restored", stage)
        return summary
    resuming = checkpoints is not None and checkpoints.resuming
    child_run = resumed_child_run(stage) if resuming and parent is not None else None
    with tracked_run(stage, tags={"stage": stage}, nested=True, run_id=child_run):
        rows = n_rows(data.y)
        steps = steps_per_execution(settings.steps_per_execution, rows)
        replicas = active_replicas()
        how = "batches" if replicas > 1 else feed(settings.feed, rows)  # even batches for the devices
        optimizer = keras.optimizers.get(
            {"class_name": settings.optimizer, "config": {"learning_rate": settings.learning_rate}}
        )
        model.compile(
            optimizer=optimizer,
            loss=loss,
            metrics=["accuracy"] if classify else [],
            steps_per_execution=steps,
            jit_compile=settings.jit_compile,
        )
        # steps_per_execution, jit_compile and feed as resolved ("auto" becomes what Keras/we chose);
        # replicas: the devices each batch was split across (trainer.distribute).
        mlflow.log_params(
            {
                f"stage.{k}": v
                for k, v in settings.items()
                if k in ("epochs", "batch_size", "optimizer", "learning_rate", "class_weight")
            }
            | {
                "stage.steps_per_execution": steps,
                "stage.jit_compile": model.jit_compile,
                "stage.feed": how,
                "stage.replicas": replicas,
            }
        )
        class_weight = balanced_class_weight(data.y) if classify and settings.class_weight == "balanced" else None
        logger.info(
            "stage %s: %s rows, %s validation, up to %d epochs, batch %d, %s lr %g",
            stage,
            f"{rows:,}",
            f"{n_rows(data.y_val):,}",
            settings.epochs,
            settings.batch_size,
            settings.optimizer,
            settings.learning_rate,
        )
        start_epoch = checkpoints.epochs_completed(stage) if checkpoints is not None else 0
        callbacks = stage_callbacks(settings, stage)
        started = time.perf_counter()
        try:
            history = model.fit(
                **fit_inputs(data, settings, how, start_epoch, class_weight, replicas),
                epochs=settings.epochs,
                callbacks=callbacks,
                verbose=0,
            )
        finally:  # an interrupted or failed stage keeps the epochs it logged
            callbacks[0].write()
        epochs = full_history(history.history, callbacks)
        summary = {
            "train_seconds": time.perf_counter() - started,
            "epochs_trained": len(epochs["loss"]),
            "best_val_loss": float(np.min(epochs["val_loss"])),
            **parameter_counts(model),
        }
        mlflow.log_metrics(summary)
    if checkpoints is not None:
        checkpoints.mark_completed(model, stage, summary)
    release_free_memory()
    if parent is not None:
        log_figure(
            training_curves(epochs, f"stage {stage}"),
            f"training_curves/{stage}.png",
            run_id=parent.info.run_id,
        )
    return summary
