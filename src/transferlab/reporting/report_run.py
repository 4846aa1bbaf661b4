"""The report logged to MLflow as a run of its own (tag report=true), beside the runs it compares."""

from pathlib import Path

from mlflow import MlflowClient

from transferlab.reporting.selection import REPORT_TAG, SelectedRuns
from transferlab.tracking.store import EXPERIMENT_KIND

REPORTS_EXPERIMENT = "transferlab-reports"  # where a report over several experiments goes
TAG_LIMIT = 5000  # MLflow caps a tag value (8,000 characters in MLflow 3); the full list is in the runs CSV


def report_experiment(client: MlflowClient, selected: SelectedRuns) -> str:
    """The selected runs' experiment when there is one, else the shared reports experiment."""
    if len(selected.experiment_ids) == 1:
        return selected.experiment_ids[0]
    existing = client.get_experiment_by_name(REPORTS_EXPERIMENT)
    return existing.experiment_id if existing else client.create_experiment(REPORTS_EXPERIMENT, tags=EXPERIMENT_KIND)


def log_report_run(client: MlflowClient, selected: SelectedRuns, name: str, selection: str, folder: Path) -> str:
    """A FINISHED run holding every file of `folder` under report/; FAILED (and the error raised) if logging fails."""
    ids = ",".join(selected.jobs["run_id"])
    run = client.create_run(
        report_experiment(client, selected),
        run_name=f"report: {name}",
        tags={
            REPORT_TAG: "true",
            "report.name": name,
            "report.selection": selection[:TAG_LIMIT],
            "report.n_runs": str(len(selected.jobs)),
            "report.run_ids": ids if len(ids) <= TAG_LIMIT else "see report/" + f"{name}_runs.csv",
            "mlflow.note.content": f"Report over {len(selected.jobs)} runs; open report/{name}_report.html.",
        },
    )
    try:
        client.log_artifacts(run.info.run_id, str(folder), artifact_path="report")
    except BaseException:
        client.set_terminated(run.info.run_id, "FAILED")
        raise
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id
