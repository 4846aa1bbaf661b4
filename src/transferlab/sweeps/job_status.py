"""One record per sweep job, `job_status.json` in the job's output dir: what the summary reads."""

import json
from dataclasses import asdict, dataclass
from pathlib import Path

STATUS_FILE = "job_status.json"
FINISHED, FAILED, SKIPPED = "FINISHED", "FAILED", "SKIPPED"


@dataclass
class JobRecord:
    """A sweep job's outcome: its objective (FINISHED, SKIPPED) or its one-line error (FAILED)."""

    job: int
    overrides: str
    status: str
    objective: float | None = None
    run_id: str | None = None
    error: str | None = None


def write_record(record: JobRecord, job_dir: Path) -> None:
    (job_dir / STATUS_FILE).write_text(json.dumps(asdict(record)))


def read_records(sweep_dir: Path) -> list[JobRecord]:
    """The records of the jobs under `sweep_dir`, by job number."""
    records = (JobRecord(**json.loads(path.read_text())) for path in sweep_dir.rglob(STATUS_FILE))
    return sorted(records, key=lambda record: record.job)


def clear_records(sweep_dir: Path) -> None:
    """Remove an earlier sweep's records from `sweep_dir` (a sweep run again into the same folder)."""
    for path in sweep_dir.rglob(STATUS_FILE):
        path.unlink()
