"""Per-epoch metrics to MLflow with stable names (train_loss, val_loss, train_accuracy, ...).

mlflow.keras.MlflowCallback logs Keras' raw names ("loss") and its own params; this callback only
renames and logs, so every stage's curves line up in the MLflow compare view.

Each epoch's metrics keep their step (the epoch) and the time the epoch ended, but are written in
one synchronous `log_batch` at most every `interval_s` seconds and when training ends, so a long
stage's curves still fill in while it runs. Why not `log_metrics(..., synchronous=False)` per
epoch, as before: MLflow's async queue competes with the training loop on a small CPU and then
waits for its worker's queue timeout at the flush after fit and again when the stage run ends,
while one batched write is cheap
(measurements: benchmarks/README.md, 'Why the code is shaped this way').
"""

import time

import keras
import mlflow
from mlflow.entities import Metric

from transferlab.tracking.store import retry_locked


class EpochMetricsLogger(keras.callbacks.Callback):
    def __init__(self, interval_s: float = 5.0):
        super().__init__()
        self.interval_s = interval_s
        self.pending: list[Metric] = []
        self.run_id = None
        self.last_write = time.perf_counter()

    def on_train_begin(self, logs=None):
        self.run_id = mlflow.active_run().info.run_id
        self.last_write = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        ended_ms = int(time.time() * 1000)
        self.pending += [
            Metric(k if k.startswith("val_") else f"train_{k}", float(v), ended_ms, epoch)
            for k, v in (logs or {}).items()
            if k != "learning_rate"
        ]
        if time.perf_counter() - self.last_write >= self.interval_s:
            self.write()

    def on_train_end(self, logs=None):
        self.write()

    def write(self) -> None:
        if self.pending:
            metrics, self.pending = self.pending, []
            retry_locked(lambda: mlflow.MlflowClient().log_batch(self.run_id, metrics=metrics, synchronous=True))
        self.last_write = time.perf_counter()
