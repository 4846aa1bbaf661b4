"""A job's stage checkpoints: Keras' BackupAndRestore inside a stage, saved weights after each one.

Layout under the job's checkpoint folder (`<hydra output dir>/checkpoints`, recorded on the job run
as the tag `transferlab.checkpoint_dir`):

    <stage>/backup/          Keras' BackupAndRestore files (weights, optimizer state, epoch)
    <stage>/state.pkl        what Keras leaves out: random seed states of the layers, NumPy's and
                             Python's global generators, resumable callbacks (early stopping)
    <stage>/done.npz         the stage's final model weights; done.pkl its random state; done.json its
                             summary metrics (written last: the stage is done)

A resumed job (`resume=<run id>`) loads a completed stage's weights instead of training it again
and continues an interrupted stage at its next epoch.
"""

import json
import pickle
import random
import shutil
import time
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path

import keras
import numpy as np

from transferlab.interruption import GATE
from transferlab.progress import StageCallback

SEED_STATE = "seed_generator_state"


@dataclass
class JobCheckpoints:
    """Where one job (MLflow run `run_id`) keeps its stage checkpoints, whether this process resumes
    from them, and where training is (the current stage and its completed epochs, for the
    interruption message)."""

    root: Path
    resuming: bool = False
    run_id: str | None = None
    stage: str | None = None
    epochs_done: int = 0  # of the current stage
    epochs_saved: int = 0  # of those, in its last checkpoint: where a resume continues

    def stage_dir(self, stage: str) -> Path:
        return self.root / stage

    def completed(self, stage: str) -> dict[str, float] | None:
        """The summary metrics of `stage` when a resumed job has already completed it, else None."""
        summary = self.stage_dir(stage) / "done.json"
        return json.loads(summary.read_text()) if self.resuming and summary.is_file() else None

    def restore_completed(self, model: keras.Model, stage: str) -> None:
        """The stage's final weights and the random generators as they were when it ended."""
        with np.load(self.stage_dir(stage) / "done.npz") as saved:
            model.set_weights([saved[f"arr_{i}"] for i in range(len(saved.files))])
        set_random_state(model, pickle.loads((self.stage_dir(stage) / "done.pkl").read_bytes()))

    def mark_completed(self, model: keras.Model, stage: str, summary: dict[str, float]) -> None:
        """Save the stage's final model weights (not the optimizer's: the next stage compiles its
        own) and random state, then its summary, written last because it marks the stage done."""
        folder = self.stage_dir(stage)
        folder.mkdir(parents=True, exist_ok=True)
        with GATE.deferred():
            np.savez(folder / "done.npz", *model.get_weights())
            (folder / "done.pkl").write_bytes(pickle.dumps(random_state(model)))
            (folder / "done.json").write_text(json.dumps(summary))

    def epochs_completed(self, stage: str) -> int:
        """Epochs of `stage` a resumed job will not train again (from BackupAndRestore's metadata)."""
        metadata = self.stage_dir(stage) / "backup" / "training_metadata.json"
        if not (self.resuming and metadata.is_file()):
            return 0
        return int(json.loads(metadata.read_text())["epoch"])

    def describe_position(self) -> str:
        if self.stage is None:
            return "before training"
        saved = f" (checkpoint after epoch {self.epochs_saved})" if self.epochs_saved != self.epochs_done else ""
        return f"at stage {self.stage}, epoch {self.epochs_done}{saved}"

    def remove(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def random_state(model: keras.Model) -> dict:
    """The layers' seed generator states (dropout masks) and NumPy's and Python's global generators."""
    return {
        "seeds": [np.asarray(v) for v in model.variables if v.name == SEED_STATE],
        "numpy": np.random.get_state(),
        "python": random.getstate(),
    }


def set_random_state(model: keras.Model, state: dict) -> None:
    for variable, value in zip([v for v in model.variables if v.name == SEED_STATE], state["seeds"]):
        variable.assign(value)
    np.random.set_state(state["numpy"])
    random.setstate(state["python"])


ACTIVE: ContextVar[JobCheckpoints | None] = ContextVar("job_checkpoints", default=None)


@contextmanager
def checkpoints_active(checkpoints: JobCheckpoints):
    """Make `checkpoints` the job's for the block (fit_stage and StageCheckpoint read it)."""
    token = ACTIVE.set(checkpoints)
    try:
        yield checkpoints
    finally:
        ACTIVE.reset(token)


class Resumable:
    """A callback whose state a resumed stage must get back (e.g. early stopping's patience count)."""

    def get_state(self) -> dict:
        raise NotImplementedError

    def set_state(self, state: dict) -> None:
        raise NotImplementedError


class EarlyStopping(keras.callbacks.EarlyStopping, Resumable):
    """Keras' EarlyStopping whose wait count, best value and best weights survive a resume."""

    def get_state(self) -> dict:
        return {
            "wait": self.wait,
            "stopped_epoch": self.stopped_epoch,
            "best": self.best,
            "best_epoch": self.best_epoch,
            "best_weights": self.best_weights,
        }

    def set_state(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value)


class StageCheckpoint(StageCallback):
    """Keras' BackupAndRestore for the current stage of the active job, after each epoch that ends
    `min_interval_s` or more after the last checkpoint (a checkpoint costs ~50 ms on the Pima MLP,
    whose epochs take ~120 ms), plus the state it leaves out (see the module docstring). Does nothing
    outside a job (no JobCheckpoints active). Runs after the other callbacks (stage_callbacks
    puts it last): it restores their state after they reset it, and saves it after they update it."""

    def __init__(self, min_interval_s: float = 10.0):
        super().__init__()
        self.min_interval_s = min_interval_s
        self.last_save = time.perf_counter()
        self.resumables: list[Resumable] = []
        self.epoch_logs: list[dict] = []  # every epoch of the stage, those before a resume included
        self.backup: keras.callbacks.BackupAndRestore | None = None
        self.job: JobCheckpoints | None = None

    @property
    def state_path(self) -> Path:
        return self.job.stage_dir(self.stage) / "state.pkl"

    def on_train_begin(self, logs=None):
        self.job = ACTIVE.get()
        if self.job is None:
            return
        self.job.stage = self.stage
        self.job.epochs_done = self.job.epochs_saved = self.job.epochs_completed(self.stage)
        self.last_save = time.perf_counter()
        backup_dir = self.job.stage_dir(self.stage) / "backup"
        if not self.job.resuming:
            shutil.rmtree(backup_dir, ignore_errors=True)
        # double_checkpoint: the previous epoch's files stay, for a process killed (SIGKILL) mid-write
        self.backup = keras.callbacks.BackupAndRestore(str(backup_dir), double_checkpoint=True)
        self.backup.set_model(self.model)
        self.backup.set_params(self.params)
        self.backup.on_train_begin(logs)
        if self.job.resuming and self.state_path.is_file():
            self.restore_state()

    def on_epoch_begin(self, epoch, logs=None):
        if self.backup is not None:
            self.backup.on_epoch_begin(epoch, logs)

    def on_epoch_end(self, epoch, logs=None):
        if self.backup is None:
            return
        self.epoch_logs.append({key: float(value) for key, value in (logs or {}).items()})
        self.job.epochs_done = epoch + 1
        if time.perf_counter() - self.last_save < self.min_interval_s:
            return
        with GATE.deferred():  # a signal now waits until the epoch's checkpoint is complete
            self.backup.on_epoch_end(epoch, logs)
            self.save_state()
        self.job.epochs_saved, self.last_save = epoch + 1, time.perf_counter()

    def save_state(self) -> None:
        state = random_state(self.model) | {
            "callbacks": [callback.get_state() for callback in self.resumables],
            "epoch_logs": self.epoch_logs,
        }
        partial = self.state_path.with_suffix(".tmp")
        partial.write_bytes(pickle.dumps(state))
        partial.replace(self.state_path)  # atomic: a kill mid-write leaves the previous state

    def restore_state(self) -> None:
        state = pickle.loads(self.state_path.read_bytes())
        set_random_state(self.model, state)
        for callback, saved in zip(self.resumables, state["callbacks"]):
            callback.set_state(saved)
        self.epoch_logs = state["epoch_logs"]

    def history(self, fitted: dict[str, list]) -> dict[str, list]:
        """Keras' history of this fit with the epochs before a resume in front."""
        earlier = self.epoch_logs[: len(self.epoch_logs) - len(next(iter(fitted.values()), []))]
        return {key: [logs[key] for logs in earlier] + list(values) for key, values in fitted.items()}
