"""Bulk reads of MLflow's SQL tracking store: one query per table instead of one ORM object per value.

MLflow's search_runs and get_metric_history_bulk build a Python object for every param, tag and metric
point (83,000 for 1,000 jobs with their stage runs); the same rows read with SQLAlchemy Core over MLflow's
own table models come several times faster (benchmarks/README.md, report_runs). No MLflow API returns runs
as columns, so the queries are written here, against mlflow.store.tracking.dbmodels.models.
"""

import numpy as np
import pandas as pd
from mlflow.entities import LifecycleStage, RunStatus
from mlflow.store.tracking.dbmodels.models import SqlLatestMetric, SqlMetric, SqlParam, SqlRun, SqlTag
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from sqlalchemy import select

IN_CHUNK = 5_000  # run ids per IN (...) list, well under SQLite's 32,766 bound parameters


def finished_runs(store: SqlAlchemyStore, experiment_ids: list[str]) -> pd.DataFrame:
    """Every active FINISHED run of the experiments, laid out as mlflow.search_runs lays runs out
    (run_id, experiment_id, status, start_time, end_time, metrics.*, params.*, tags.*)."""
    wanted = (
        SqlRun.experiment_id.in_([int(i) for i in experiment_ids]),
        SqlRun.status == RunStatus.to_string(RunStatus.FINISHED),
        SqlRun.lifecycle_stage == LifecycleStage.ACTIVE,
    )
    with store.engine.connect() as connection:
        runs = pd.read_sql(
            select(
                SqlRun.run_uuid.label("run_id"),
                SqlRun.experiment_id,
                SqlRun.status,
                SqlRun.start_time,
                SqlRun.end_time,
            ).where(*wanted),
            connection,
        )
        keyed = [
            _wide(pd.read_sql(select(table.run_uuid, table.key, *values).join(SqlRun).where(*wanted), connection))
            for table, values in (
                (SqlLatestMetric, (SqlLatestMetric.value, SqlLatestMetric.is_nan)),
                (SqlParam, (SqlParam.value,)),
                (SqlTag, (SqlTag.value,)),
            )
        ]
    runs["experiment_id"] = runs["experiment_id"].astype(str)
    for column in ("start_time", "end_time"):
        runs[column] = pd.to_datetime(runs[column], unit="ms", utc=True)
    metrics, params, tags = (frame.add_prefix(prefix) for frame, prefix in zip(keyed, ("metrics.", "params.", "tags.")))
    return runs.set_index("run_id").join([metrics, params, tags]).reset_index()


def _wide(long: pd.DataFrame) -> pd.DataFrame:
    """One column per key, one row per run id."""
    if "is_nan" in long:  # MLflow stores a NaN metric as 0 with is_nan set
        long["value"] = long["value"].where(~long.pop("is_nan").astype(bool), np.nan)
    wide = long.pivot(index="run_uuid", columns="key", values="value")
    return wide.rename_axis(index="run_id", columns=None)


def metric_points(store: SqlAlchemyStore, run_ids: list[str], metric: str) -> list[tuple[str, int, float]]:
    """(run id, step, value) of every logged point of `metric` in the runs."""
    points = []
    with store.engine.connect() as connection:
        for start in range(0, len(run_ids), IN_CHUNK):
            query = select(SqlMetric.run_uuid, SqlMetric.step, SqlMetric.value, SqlMetric.is_nan).where(
                SqlMetric.key == metric, SqlMetric.run_uuid.in_(run_ids[start : start + IN_CHUNK])
            )
            points += [
                (run_id, step, np.nan if is_nan else value) for run_id, step, value, is_nan in connection.execute(query)
            ]
    return points
