"""Training progress on the console: stage, epoch k/N, loss, val_loss, ETA.

Why not Keras' own: `keras.utils.Progbar` (behind `fit(verbose=1)` / `ProgbarLogger`) counts
batches, not epochs, writes to stdout only, and always redraws with `\\r` and colour codes (it
treats every POSIX process as a terminal), so a CI log gets one unreadable line. This callback
draws one updating line on a terminal and logs one plain line per epoch anywhere else, through
the `transferlab.progress` logger (so the job's log file has them too).
"""

import logging
import math
import sys
import time

import keras

logger = logging.getLogger("transferlab.progress")


def duration(seconds: float) -> str:
    """`0.4s`, `42s`, `3:07`, `1:02:03`."""
    if seconds < 9.95:
        return f"{seconds:.1f}s"
    seconds = int(round(seconds))
    if seconds < 60:
        return f"{seconds}s"
    minutes, seconds = divmod(seconds, 60)
    return f"{minutes}:{seconds:02d}" if minutes < 60 else f"{minutes // 60}:{minutes % 60:02d}:{seconds:02d}"


def number(value) -> str:
    return "nan" if value is None or math.isnan(value) else f"{value:.4f}"


class StageCallback(keras.callbacks.Callback):
    """A callback that is told which strategy stage it runs in (fit_stage sets `stage`)."""

    stage: str = "train"


class EpochProgress(StageCallback):
    """One line per epoch (`train epoch 3/200 loss 0.4123 val_loss 0.3987 1.2s`) through logging
    when `stream` (default: stderr) is not a terminal; on a terminal one line redrawn every
    `interval_s` seconds during the epoch, with a bar and the ETA. `stage` names the stage
    (fit_stage sets it). Either way a summary line closes the stage."""

    async_safe = True  # only formats numbers and writes text: fine on Keras' callback thread

    def __init__(self, stream=None, interval_s: float = 0.2, width: int = 20):
        super().__init__()
        self.stream, self.interval_s, self.width = stream, interval_s, width

    def on_train_begin(self, logs=None):
        self.out = self.stream if self.stream is not None else sys.stderr
        self.tty = bool(getattr(self.out, "isatty", lambda: False)())
        self.epochs = int(self.params.get("epochs") or 0)
        self.steps = self.params.get("steps")
        self.started = self.epoch_started = self.last_draw = time.perf_counter()
        self.epoch = 0
        self.first_epoch: int | None = None  # > 0 when a resumed stage starts after its earlier epochs
        self.history: list[dict] = []
        self.drawn = False

    def on_epoch_begin(self, epoch, logs=None):
        self.epoch = epoch
        if self.first_epoch is None:
            self.first_epoch = epoch
        self.epoch_started = time.perf_counter()

    def on_train_batch_end(self, batch, logs=None):
        if not self.tty or time.perf_counter() - self.last_draw < self.interval_s:
            return
        done = (batch + 1) / self.steps if self.steps else 0.0
        previous = {"val_loss": self.history[-1]["val_loss"]} if self.history and "val_loss" in self.history[-1] else {}
        self.draw(self.epoch + min(done, 1.0), previous | {"loss": (logs or {}).get("loss")})

    def on_epoch_end(self, epoch, logs=None):
        logs = {k: float(v) for k, v in (logs or {}).items()}
        self.history.append(logs)
        if self.tty:
            self.draw(epoch + 1, logs)
        else:
            logger.info(
                "%s epoch %d/%d loss %s val_loss %s %s",
                self.stage,
                epoch + 1,
                self.epochs,
                number(logs.get("loss")),
                number(logs.get("val_loss")),
                duration(time.perf_counter() - self.epoch_started),
            )

    def on_train_end(self, logs=None):
        if self.tty and self.drawn:
            self.out.write("\n")
            self.out.flush()
        trained = len(self.history)
        if not trained:
            return
        val = [h.get("val_loss", math.nan) for h in self.history]
        best = min(range(trained), key=lambda i: (math.isnan(val[i]), val[i]))
        stopped = f", stopped early (of {self.epochs})" if self.first_epoch + trained < self.epochs else ""
        resumed = f" (resumed after epoch {self.first_epoch})" if self.first_epoch else ""
        logger.info(
            "%s: %d epochs%s in %s%s, best val_loss %s at epoch %d",
            self.stage,
            trained,
            resumed,
            duration(time.perf_counter() - self.started),
            stopped,
            number(val[best]),
            self.first_epoch + best + 1,
        )

    def draw(self, epochs_done: float, logs: dict) -> None:
        """`\\r` + bar over the stage's epochs, epoch k/N, loss, val_loss, ETA."""
        elapsed = time.perf_counter() - self.started
        share = epochs_done / self.epochs if self.epochs else 0.0
        filled = int(self.width * min(share, 1.0))
        done_here = epochs_done - (self.first_epoch or 0)
        eta = elapsed / done_here * (self.epochs - epochs_done) if done_here > 0 else None
        loss = logs.get("loss")
        text = (
            f"{self.stage} [{'#' * filled}{'.' * (self.width - filled)}]"
            f" epoch {min(self.epoch + 1, self.epochs)}/{self.epochs}"
            f" loss {number(None if loss is None else float(loss))}"
            + (f" val_loss {number(logs['val_loss'])}" if "val_loss" in logs else "")
            + (f" ETA {duration(eta)}" if eta is not None else "")
        )
        self.out.write("\r" + text + "\x1b[K")  # \x1b[K: clear what a longer previous line left
        self.out.flush()
        self.drawn = True
        self.last_draw = time.perf_counter()
