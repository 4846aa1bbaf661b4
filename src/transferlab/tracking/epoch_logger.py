"""Per-epoch metrics to MLflow with stable names (train_loss, val_loss, train_accuracy, ...).

mlflow.keras.MlflowCallback logs Keras' raw names ("loss") and its own params; this callback only
renames and logs, so every stage's curves line up in the MLflow compare view.
"""
import keras
import mlflow


class EpochMetricsLogger(keras.callbacks.Callback):
    def on_epoch_end(self, epoch, logs=None):
        metrics = {(k if k.startswith("val_") else f"train_{k}"): float(v) for k, v in (logs or {}).items() if k != "learning_rate"}
        mlflow.log_metrics(metrics, step=epoch, synchronous=False)
