"""The end of a sweep (a Hydra callback): a table of its jobs (job, overrides, status, objective or
error) on the console and as sweep_summary.csv in the sweep dir; exit code 1 if a job failed."""

import sys
from dataclasses import asdict
from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from transferlab.sweeps.job_status import FAILED, clear_records, read_records

SUMMARY_FILE = "sweep_summary.csv"


class SweepSummary(Callback):
    """Registered first under hydra.callbacks, so that Hydra, which ends callbacks in reverse
    order, runs its exit last."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        clear_records(Path(config.hydra.sweep.dir))

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        table = summary_table(sweep_dir)
        table.to_csv(sweep_dir / SUMMARY_FILE, index=False)
        print(f"sweep summary ({sweep_dir / SUMMARY_FILE}):\n{console_table(table).to_string(index=False, na_rep='')}")
        failed = int((table.status == FAILED).sum())
        if failed:
            print(f"error: {failed} of {len(table)} jobs failed", file=sys.stderr)
            sys.exit(1)  # a callback's exceptions become warnings in Hydra; SystemExit sets the exit code


def summary_table(sweep_dir: Path):
    """One row per job record under `sweep_dir` (a pandas DataFrame)."""
    import pandas as pd  # Hydra builds this callback for single jobs too, which need no pandas this early

    columns = ["job", "overrides", "status", "objective", "run_id", "error"]
    return pd.DataFrame([asdict(record) for record in read_records(sweep_dir)], columns=columns)


def console_table(table):
    """The summary with each job's overrides cut to those not shared by every job (what the sweep
    varies), so that it fits a terminal."""
    jobs = [overrides.split(" ") for overrides in table.overrides]
    shared = set.intersection(*map(set, jobs)) if len(jobs) > 1 else set()
    varying = [" ".join(o for o in overrides if o not in shared) for overrides in jobs]
    return table.assign(overrides=varying).fillna({"run_id": "", "error": ""})
