"""Stop a stage at the first NaN or infinite loss with a one-line error (never a silent NaN model)."""

import math

import keras

from transferlab.errors import ConfigError
from transferlab.progress import StageCallback


class StopOnInvalidLoss(keras.callbacks.TerminateOnNaN, StageCallback):
    """Keras' TerminateOnNaN, raising a ConfigError that names the stage, epoch and batch and the
    learning rate (the usual cause) instead of printing to stdout and ending the stage quietly."""

    def __init__(self):
        super().__init__(raise_error=True)
        self.epoch = 0

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not math.isfinite(float(loss)):
            rate = float(keras.ops.convert_to_numpy(self.model.optimizer.learning_rate))
            raise ConfigError(
                f"trainer.learning_rate (stage {self.stage})",
                f"{rate:g}",
                f"the loss became {float(loss)} at epoch {self.epoch + 1}, batch {batch + 1} (Keras' "
                "TerminateOnNaN stopped the stage); lower the learning rate or look for extreme values in the data",
            )
