"""Tracking store set-up: safe when parallel sweep jobs share one SQLite file; a tracking server
is checked first and keeps the artifacts (proxied), and an unreachable one fails in seconds."""

import os
import time
from pathlib import Path
from urllib.parse import urlparse

import mlflow
from filelock import FileLock
from mlflow.exceptions import MlflowException
from mlflow.utils.uri import is_http_uri

from transferlab.errors import ConfigError, first_line
from transferlab.tracking.redaction import redact_uri

# MLflow 3's UI opens an experiment without this tag on its GenAI overview (traces, prompts); ours
# train models, so it opens on the runs table.
EXPERIMENT_KIND = {"mlflow.experimentKind": "custom_model_development"}
# MLflow retries an unanswered HTTP request 7 times with backoff factor 2 (about 4 minutes); these
# defaults give up after about 3 s. Variables the user set win.
HTTP_RETRY_DEFAULTS = {"MLFLOW_HTTP_REQUEST_MAX_RETRIES": "2", "MLFLOW_HTTP_REQUEST_BACKOFF_FACTOR": "1"}
# Seconds the start-up check waits per attempt (MLFLOW_HTTP_REQUEST_TIMEOUT, 120 s, stays for the
# job's own requests: a large model upload may take a while to be answered).
PROBE_TIMEOUT_S = 3


def _sqlite_path(uri: str) -> Path | None:
    return Path(urlparse(uri).path) if uri.startswith("sqlite:") else None


def root_cause(err: BaseException) -> str:
    """The innermost exception behind `err`, in words: "Connection refused", "timed out"."""
    while (err.__cause__ or err.__context__) is not None:
        err = err.__cause__ or err.__context__
    return err.strerror if isinstance(err, OSError) and err.strerror else first_line(err)


def require_server(uri: str) -> None:
    """ConfigError unless something answers HTTP at the tracking server `uri` (its /health page;
    any status counts), after bounded retries (HTTP_RETRY_DEFAULTS, PROBE_TIMEOUT_S)."""
    from mlflow.utils.credentials import get_default_host_creds
    from mlflow.utils.rest_utils import http_request

    for name, value in HTTP_RETRY_DEFAULTS.items():
        os.environ.setdefault(name, value)
    try:
        http_request(get_default_host_creds(uri), "/health", "GET", timeout=PROBE_TIMEOUT_S, raise_on_status=False)
    except MlflowException as err:
        raise ConfigError(
            "tracking.uri",
            redact_uri(uri),
            f"no MLflow server answers ({root_cause(err)}); start one (mlflow server --host HOST --port PORT) "
            "or point tracking.uri (or MLFLOW_TRACKING_URI) at one",
        ) from err


def require_proxied_artifacts(experiment_id: str) -> None:
    """ConfigError unless the server proxies the experiment's artifacts (`mlflow-artifacts:`): any
    other location (a folder on the server's disk) would be written by each job where it runs."""
    experiment = mlflow.get_experiment(experiment_id)
    if not experiment.artifact_location.startswith("mlflow-artifacts:"):
        raise ConfigError(
            "tracking.experiment",
            experiment.name,
            f"keeps its artifacts at {redact_uri(experiment.artifact_location)}, which the server does not proxy; "
            "with tracking=server name a new experiment on a server that serves artifacts "
            "(mlflow server --artifacts-destination ...)",
        )


LOCKED = ("locked",)  # SQLite: "database is locked", a parallel writer holds it
# A row another job inserted between MLflow's look-up and its insert (parallel jobs logging the same
# dataset): SQLite's, PostgreSQL's and MySQL's words for it. The retry finds the row and links to it.
INSERTED_MEANWHILE = ("UNIQUE constraint failed", "duplicate key value", "Duplicate entry")


def retry_locked(action, attempts: int = 20, transient: tuple[str, ...] = LOCKED):
    """Run `action`, retrying while its error says one of `transient` (default: the database is
    locked by a parallel writer)."""
    for attempt in range(attempts):
        try:
            return action()
        except Exception as err:  # MLflow wraps sqlite errors in several exception types
            if not any(words in str(err) for words in transient) or attempt == attempts - 1:
                raise
            time.sleep(0.1 * (attempt + 1))


def use_experiment(uri: str, experiment: str, artifact_root: str) -> str:
    """Point MLflow at `uri`, make `experiment` active (creating it if needed), return its id.
    The experiment is tagged as model development (EXPERIMENT_KIND), also when it already existed.

    Parallel jobs race on the first schema migration and on experiment creation, so both happen
    under a file lock beside the SQLite file; artifacts of a new experiment go under artifact_root.
    A tracking server (http/https) must answer first (require_server), and a new experiment there
    keeps the server's artifact location (proxied `mlflow-artifacts:`), so artifacts reach it.
    """
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # no bars in job logs
    server = is_http_uri(uri)
    if server:
        require_server(uri)
    mlflow.set_tracking_uri(uri)
    db = _sqlite_path(uri)
    if db is not None:
        db.parent.mkdir(parents=True, exist_ok=True)
    lock = FileLock(str(db) + ".lock") if db is not None else None

    def get_or_create() -> str:
        found = mlflow.get_experiment_by_name(experiment)
        if found is None:
            location = None if server else (Path(artifact_root).expanduser().resolve() / experiment).as_uri()
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
