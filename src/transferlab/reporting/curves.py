"""Per-epoch curves of the selected jobs, read from their stage runs' metric histories."""

import pandas as pd
from mlflow import MlflowClient
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore

from transferlab.reporting import sql_store
from transferlab.reporting.selection import PARENT


def final_stages(stages: pd.DataFrame) -> pd.DataFrame:
    """Per job, the stage run that started last: the one that trained the model the job evaluated."""
    if stages.empty:
        return stages
    return stages.sort_values("start_time").groupby(PARENT, as_index=False).tail(1)


def metric_histories(client: MlflowClient, run_ids: list[str], metric: str) -> list[tuple[str, int, float]]:
    """(run id, step, value) of every point of `metric` in the runs: a SQL store in one query
    (sql_store), other stores one request per run."""
    store = client._tracking_client.store
    if isinstance(store, SqlAlchemyStore):
        return sql_store.metric_points(store, run_ids, metric)
    return [(run_id, m.step, m.value) for run_id in run_ids for m in client.get_metric_history(run_id, metric)]


def read_curves(client: MlflowClient, stages: pd.DataFrame, metrics: list[str]) -> pd.DataFrame:
    """Long table job_run_id, metric, epoch, value of each final stage's per-epoch `metrics`."""
    final = final_stages(stages)
    job_of = dict(zip(final["run_id"], final[PARENT])) if not final.empty else {}
    rows = [
        (job_of[run_id], metric, step, value)
        for metric in metrics
        if f"metrics.{metric}" in final
        for run_id, step, value in metric_histories(
            client, list(final.loc[final[f"metrics.{metric}"].notna(), "run_id"]), metric
        )
    ]
    return pd.DataFrame(rows, columns=["job_run_id", "metric", "epoch", "value"])


def group_curves(curves: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """mean, std and n over a group's jobs per metric and epoch (`labels`: group label by job run id);
    later epochs average fewer jobs where early stopping ended some runs sooner."""
    if curves.empty:
        return pd.DataFrame(columns=["group", "metric", "epoch", "mean", "std", "n"])
    frame = curves.assign(group=curves["job_run_id"].map(labels))
    stats = frame.groupby(["group", "metric", "epoch"])["value"].agg(["mean", "std", "count"])
    return stats.rename(columns={"count": "n"}).reset_index()
