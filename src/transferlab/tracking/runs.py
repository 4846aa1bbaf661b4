"""Run lifecycle: one run per job, a nested child run per training stage, FAILED on errors,
KILLED on SIGTERM/SIGINT."""

import os
import socket
import traceback
from contextlib import contextmanager

import mlflow

from transferlab.interruption import JobInterrupted
from transferlab.tracking.redaction import redact_uri


def process_tags() -> dict[str, str]:
    """Host and PID of this process: a later job on the same host ends the run KILLED when that
    process no longer exists (tracking/stale_runs.py)."""
    return {"transferlab.host": socket.gethostname(), "transferlab.pid": str(os.getpid())}


def mark_resumed(run) -> None:
    """A reopened run's `interrupted` tag becomes `resumed_after` (it no longer ends there)."""
    interrupted = mlflow.get_run(run.info.run_id).data.tags.get("interrupted")
    if interrupted is not None:
        mlflow.set_tag("resumed_after", interrupted)
        mlflow.MlflowClient().delete_tag(run.info.run_id, "interrupted")


@contextmanager
def tracked_run(
    run_name: str | None,
    tags: dict,
    experiment_id: str | None = None,
    nested: bool = False,
    run_id: str | None = None,
    system_metrics_s: float | None = None,
):
    """Start (or with `run_id`, reopen) a run; on SIGTERM/SIGINT end it KILLED, on any other
    exception log the error and end it FAILED; re-raise either way. `system_metrics_s`: MLflow
    samples system metrics (system/*) into the run every so many seconds; None: none."""
    if system_metrics_s is not None:
        mlflow.set_system_metrics_sampling_interval(system_metrics_s)
    with mlflow.start_run(
        run_id=run_id,
        run_name=run_name,
        experiment_id=experiment_id,
        nested=nested,
        tags=tags | process_tags(),
        log_system_metrics=system_metrics_s is not None,
    ) as run:
        if run_id is not None:
            mark_resumed(run)
        try:
            yield run
        except JobInterrupted as interrupted:
            mlflow.set_tag("interrupted", f"signal {interrupted}")
            mlflow.end_run("KILLED")  # start_run's context manager would say FAILED
            raise
        except BaseException as err:
            mlflow.set_tag("error", f"{type(err).__name__}: {err}"[:5000])
            mlflow.log_text(traceback.format_exc(), "error.txt")
            raise  # mlflow.start_run's context manager marks the run FAILED


def log_figure(figure, path: str, run_id: str | None = None) -> None:
    """Log a matplotlib figure as a PNG artifact of the active run (or of `run_id`) and release it."""
    import matplotlib.pyplot as plt

    if run_id is None:
        mlflow.log_figure(figure, path)
    else:
        mlflow.MlflowClient().log_figure(run_id, figure, path)
    plt.close(figure)


def log_table(frame, path: str) -> None:
    """Log a DataFrame as a CSV artifact."""
    mlflow.log_text(frame.to_csv(index=False), path)


def run_location(tracking_uri: str, experiment_id: str, run_id: str) -> str:
    """Where a user opens the run: its page for a tracking server; for a local store (SQLite
    file, folder) the `mlflow ui` command that serves it and the page's path there. The page opens
    the UI in its model-training view (MLflow 3.17 starts in the GenAI view, whatever the
    experiment's mlflow.experimentKind tag says; the choice is remembered afterwards)."""
    tracking_uri = redact_uri(tracking_uri)  # printed on the console and kept in the job's log file
    page = f"#/experiments/{experiment_id}/runs/{run_id}?workflowType=machine_learning"
    if tracking_uri.startswith(("http://", "https://")):
        return f"{tracking_uri.rstrip('/')}/{page}"
    return f"open it with `mlflow ui --backend-store-uri {tracking_uri}`, then http://127.0.0.1:5000/{page}"
