"""Tracking store set-up that is safe when parallel sweep jobs share one SQLite file."""

import os
import time
from pathlib import Path
from urllib.parse import urlparse

import mlflow
from filelock import FileLock

# MLflow 3's UI opens an experiment without this tag on its GenAI overview (traces, prompts); ours
# train models, so it opens on the runs table.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}


def _sqlite_path(uri: str) -> Path | None:
    return Path(urlparse(uri).path) if uri.startswith("sqlite:") else None


def retry_locked(action, attempts: int = 20):
    """Run `action`, retrying while SQLite says the database is locked (parallel writers)."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as err:  # MLflow wraps sqlite errors in several exception types
            if "locked" not in str(err) or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def use_experiment(uri: str, experiment: str, artifact_root: str) -> str:
    """Point MLflow at `uri`, make `experiment` active (creating it if needed), return its id.
    The experiment is tagged as model development (EXPERIMENT_KIND), also when it already existed.

    Parallel jobs race on the first schema migration and on experiment creation, so both happen
    under a file lock beside the SQLite file; artifacts of a new experiment go under artifact_root.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in job logs
    mlflow.set_tracking_uri(uri)
    db = _sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(db) + ".lock") if db is not None else None

    def get_or_create() -> str:
        found = mlflow.get_experiment_by_name(experiment)
        if found is None:
            location = (Path(artifact_root).expanduser().resolve() / experiment).as_uri()
            return mlflow.create_experiment(experiment, artifact_location=location, tags=EXPERIMENT_KIND)
        for key, value in EXPERIMENT_KIND.items():  # experiments created before the tag existed
            if found.tags.get(key) != value:
                mlflow.MlflowClient().set_experiment_tag(found.experiment_id, key, value)
        return found.experiment_id

    if lock is None:
        experiment_id = get_or_create()
    else:
        with lock:
            experiment_id = retry_locked(get_or_create)
    mlflow.set_experiment(experiment_id=experiment_id)  # child (stage) runs land beside their parent
    return experiment_id
