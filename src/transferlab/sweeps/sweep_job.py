"""One job of a sweep: skipped when its config already finished, else run; never raises, so the
sweep goes on with its other jobs whatever the launcher. Its outcome goes to job_status.json."""

import sys
import traceback
from collections.abc import Callable
from pathlib import Path

import mlflow
from hydra.core.hydra_config import HydraConfig
from omegaconf import DictConfig

from transferlab.config_checks import check_config
from transferlab.errors import first_line
from transferlab.sweeps.job_status import FAILED, FINISHED, SKIPPED, JobRecord, write_record
from transferlab.sweeps.resume import finished_run
from transferlab.tracking.redaction import redact_override

ERROR_FILE = "error.txt"  # a failed job's traceback, beside its job_status.json


def run_sweep_job(cfg: DictConfig, run: Callable[[DictConfig], float], config_error: Callable) -> float | None:
    """`run(cfg)`'s objective after check_config; the earlier run's for a skipped job; None for a
    failed job (a failed trial for Optuna). `config_error(err)`: the user error behind an exception, or None."""
    hydra = HydraConfig.get()
    job_dir = Path(hydra.runtime.output_dir)
    overrides = " ".join(redact_override(override) for override in hydra.overrides.task)  # the summary is printed
    record = JobRecord(job=hydra.job.num, overrides=overrides, status=FAILED)
    try:
        check_config(cfg)  # before the store is opened: a bad value creates nothing
        earlier = finished_run(cfg)
        if earlier is None:
            record.objective = run(cfg)
            record.status, record.run_id = FINISHED, last_run_id()
        else:
            print(f"job {record.job}: skipped, finished run {earlier.info.run_id} has the same config")
            record.objective = earlier.data.metrics.get(cfg.objective.metric)
            record.status, record.run_id = SKIPPED, earlier.info.run_id
    except Exception as err:
        user_error = config_error(err)
        record.error = str(user_error) if user_error is not None else f"{type(err).__name__}: {first_line(err)}"
        where = ""
        if user_error is None:
            (job_dir / ERROR_FILE).write_text(traceback.format_exc())
            where = f" (traceback: {job_dir / ERROR_FILE})"
        print(f"error: job {record.job}: {record.error}{where}", file=sys.stderr)
    write_record(record, job_dir)
    return record.objective


def last_run_id() -> str:
    """The id of the MLflow run the job just ended (run_job's, which ends after its stage runs)."""
    return mlflow.last_active_run().info.run_id
