"""`resume=<run id>` / `resume=last`: find the interrupted job run to continue, before any run starts.

The command must compose the same config as the interrupted run (its params); the run keeps its
id, its logged inputs and its metrics; its checkpoints (tag transferlab.checkpoint_dir) say which
stages are done and where the interrupted one stopped (checkpoints.py).
"""

from pathlib import Path

import mlflow
from mlflow.entities import Run
from omegaconf import DictConfig

from transferlab.errors import ConfigError
from transferlab.tracking.params import flatten_config

CHECKPOINT_TAG = "transferlab.checkpoint_dir"
NOT_COMPARED = ("resume",)  # keys that may differ between the interrupted command and the resuming one


def last_unfinished_run(experiment_id: str) -> Run:
    """The newest job run (not a stage run) of the experiment that did not finish."""
    runs = mlflow.MlflowClient().search_runs(
        [experiment_id],
        filter_string="attributes.status != 'FINISHED'",
        order_by=["attributes.start_time DESC"],
        max_results=100,
    )
    for run in runs:
        if "mlflow.parentRunId" not in run.data.tags:
            return run
    raise ConfigError("resume", "last", "no interrupted or failed job run in this experiment to resume")


def run_to_resume(resume: str, experiment_id: str) -> Run:
    """The job run `resume` names (an id, or `last`), checked: in this experiment, not finished,
    not running, with its checkpoints still on disk."""
    if resume == "last":
        run = last_unfinished_run(experiment_id)
    else:
        try:
            run = mlflow.get_run(resume)
        except mlflow.exceptions.MlflowException as err:
            raise ConfigError("resume", resume, "no such MLflow run in the tracking store") from err
    run_id, status = run.info.run_id, run.info.status
    if run.info.experiment_id != experiment_id:
        raise ConfigError("resume", run_id, f"belongs to experiment {run.info.experiment_id}, not this job's")
    if "mlflow.parentRunId" in run.data.tags:
        raise ConfigError("resume", run_id, f"is a stage run; resume its job run {run.data.tags['mlflow.parentRunId']}")
    if status in ("FINISHED", "RUNNING"):
        raise ConfigError("resume", run_id, f"is {status}; only KILLED or FAILED job runs can be resumed")
    folder = run.data.tags.get(CHECKPOINT_TAG)
    if not folder or not Path(folder).is_dir():
        raise ConfigError("resume", run_id, f"its checkpoints ({folder or 'none recorded'}) are not on this machine")
    return run


def check_same_config(run: Run, cfg: DictConfig) -> None:
    """ConfigError naming the first config entry that differs from the interrupted run's params."""
    logged = run.data.params
    for key, value in flatten_config(cfg).items():
        if key.startswith(NOT_COMPARED) or key not in logged:
            continue
        if logged[key] != value:
            raise ConfigError(
                "resume",
                run.info.run_id,
                f"was run with {key}={logged[key]}, this command has {key}={value}; resume with the same overrides",
            )


def resumable_run(cfg: DictConfig, experiment_id: str) -> Run | None:
    """The run `cfg.resume` asks to continue, checked against this command's config; None to start afresh."""
    if cfg.get("resume") is None:
        return None
    run = run_to_resume(str(cfg.resume), experiment_id)
    check_same_config(run, cfg)
    return run
