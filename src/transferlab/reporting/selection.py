"""Which runs a report reads: experiments, a study, a sweep, an MLflow filter string, tags or run ids.

Only FINISHED job runs are selected (not the stage runs under them, nor earlier reports); the stage
runs of the selected jobs are read along for their per-epoch curves.
"""

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient
from mlflow.entities import Run, ViewType
from mlflow.exceptions import MlflowException
from mlflow.store.tracking.sqlalchemy_store import SqlAlchemyStore
from mlflow.utils.uri import is_http_uri

from transferlab.errors import ConfigError, first_line
from transferlab.reporting import sql_store
from transferlab.tracking.redaction import redact_uri
from transferlab.tracking.store import _sqlite_path, require_server

PARENT = "tags.mlflow.parentRunId"
STAGES = "attributes.status = 'FINISHED' and tags.stage != ''"
REPORT_TAG = "report"  # report runs carry report=true, so a later report never reads them as jobs
SEARCH_PAGE = 10_000  # runs per search request (MLflow's SQL and REST stores accept up to 50,000)


@dataclass(frozen=True)
class RunSelection:
    """What to read; every field narrows the selection (fields left empty select everything)."""

    experiments: tuple[str, ...] = ()
    study: str | None = None
    sweep: str | None = None  # None: every sweep; "latest": the newest sweep_dir; else that sweep_dir
    filter: str | None = None  # an MLflow search filter string, e.g. "params.strategy.rank = '4'"
    tags: tuple[tuple[str, str], ...] = ()
    run_ids: tuple[str, ...] = field(default=())

    def filter_string(self) -> str:
        """The MLflow filter string this selection searches with."""
        clauses = ["attributes.status = 'FINISHED'"]
        if self.study:
            clauses.append(f"tags.study = '{self.study}'")
        clauses += [f"tags.`{key}` = '{value}'" for key, value in self.tags]
        if self.run_ids:
            clauses.append("attributes.run_id IN (" + ", ".join(f"'{run_id}'" for run_id in self.run_ids) + ")")
        if self.filter:
            clauses.append(self.filter)
        return " and ".join(clauses)

    def matches(self, runs: pd.DataFrame) -> pd.Series:
        """Which `runs` the selection's study, tags and run ids name (its filter string is not applied)."""
        chosen = pd.Series(True, index=runs.index)
        for key, value in ((("study", self.study),) if self.study else ()) + self.tags:
            chosen &= runs.get(f"tags.{key}", pd.Series(index=runs.index, dtype=object)).eq(value)
        if self.run_ids:
            chosen &= runs["run_id"].isin(self.run_ids)
        return chosen

    def describe(self) -> str:
        """The exact selection in words, as the report states it."""
        where = f"experiments {', '.join(self.experiments)}" if self.experiments else "all experiments"
        sweep = {None: "every sweep", "latest": "the latest sweep"}.get(self.sweep, f"sweep_dir {self.sweep}")
        return f"job runs in {where}, {sweep}, filter `{self.filter_string()}`"


@dataclass(frozen=True)
class SelectedRuns:
    """The selected job runs (one row each, as mlflow.search_runs returns them) and their stage runs."""

    jobs: pd.DataFrame
    stages: pd.DataFrame
    experiment_ids: tuple[str, ...]


def check_store(tracking_uri: str) -> None:
    """ConfigError unless `tracking_uri` is a store that exists: a SQLite file, a folder or a server."""
    sqlite_path = _sqlite_path(tracking_uri)
    if is_http_uri(tracking_uri):
        require_server(tracking_uri)
    elif sqlite_path is not None and not sqlite_path.is_file():
        raise ConfigError("--tracking-uri", tracking_uri, "no MLflow store there (the SQLite file does not exist)")
    elif sqlite_path is None and "://" not in tracking_uri and not Path(tracking_uri).is_dir():
        raise ConfigError("--tracking-uri", tracking_uri, "no MLflow store there (no such folder)")


def experiment_ids(client: MlflowClient, names: tuple[str, ...]) -> list[str]:
    """Ids of the named experiments (all active ones when none are named); an unknown name is a ConfigError."""
    existing = {e.name: e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)}
    for name in names:
        if name not in existing:
            raise ConfigError("--experiment", name, f"no such experiment; there are: {', '.join(sorted(existing))}")
    return [existing[name] for name in names] if names else list(existing.values())


def runs_frame(runs: list[Run]) -> pd.DataFrame:
    """The runs as mlflow.search_runs lays them out (run_id, experiment_id, status, start_time, end_time,
    metrics.*, params.*, tags.*). Built here because mlflow.search_runs converts every run's timestamps
    one pandas call at a time: about a fifth of reading 1,000 runs (benchmarks/report_runs.py)."""
    rows = [
        {
            "run_id": run.info.run_id,
            "experiment_id": run.info.experiment_id,
            "status": run.info.status,
            "start_time": run.info.start_time,
            "end_time": run.info.end_time,
            **{f"metrics.{key}": value for key, value in run.data.metrics.items()},
            **{f"params.{key}": value for key, value in run.data.params.items()},
            **{f"tags.{key}": value for key, value in run.data.tags.items()},
        }
        for run in runs
    ]
    frame = pd.DataFrame(rows, columns=None if rows else ["run_id", "experiment_id", "start_time"])
    for column in ("start_time", "end_time"):
        if column in frame:
            frame[column] = pd.to_datetime(frame[column], unit="ms", utc=True)
    return frame


def search(client: MlflowClient, ids: list[str], filter_string: str) -> pd.DataFrame:
    """Every run of the experiments `ids` that `filter_string` matches; a malformed filter is a ConfigError."""
    runs, token = [], None
    try:
        while True:
            page = client.search_runs(ids, filter_string, max_results=SEARCH_PAGE, page_token=token)
            runs += page
            token = page.token
            if not token:
                return runs_frame(runs)
    except MlflowException as err:
        raise ConfigError("--filter", filter_string, first_line(err)) from err


def latest_sweep(jobs: pd.DataFrame) -> pd.DataFrame:
    """The jobs of the sweep that started last (jobs run outside a sweep have no sweep_dir and are kept out)."""
    if "tags.sweep_dir" not in jobs or jobs["tags.sweep_dir"].isna().all():
        return jobs
    latest = jobs.dropna(subset=["tags.sweep_dir"]).sort_values("start_time")["tags.sweep_dir"].iloc[-1]
    return jobs[jobs["tags.sweep_dir"] == latest]


def matching_runs(client: MlflowClient, ids: list[str], selection: RunSelection) -> tuple[pd.DataFrame, pd.DataFrame]:
    """(the finished runs the selection matches, every finished run of the experiments that holds their
    stage runs). A SQL store is read in bulk (sql_store) unless the selection has an MLflow filter string,
    which only MLflow's own search evaluates."""
    store = client._tracking_client.store
    if isinstance(store, SqlAlchemyStore) and not selection.filter:
        every = sql_store.finished_runs(store, ids)
        return every[selection.matches(every)], every
    found = search(client, ids, selection.filter_string())
    narrowed = selection.study or selection.tags or selection.run_ids or selection.filter
    experiments = sorted(found["experiment_id"].unique()) if not found.empty else []
    # The search for the jobs found their stage runs too unless the selection names something only jobs carry.
    return found, search(client, experiments, STAGES) if narrowed and experiments else found


def select_runs(client: MlflowClient, selection: RunSelection) -> SelectedRuns:
    """The finished job runs the selection names; ConfigError (saying what was searched) when none match.
    The store must exist (check_store)."""
    ids = experiment_ids(client, selection.experiments)
    runs, every = matching_runs(client, ids, selection) if ids else (pd.DataFrame(), pd.DataFrame())
    if not runs.empty:
        report_runs = runs.get(f"tags.{REPORT_TAG}", pd.Series(index=runs.index, dtype=object)).eq("true")
        runs = runs[runs.get(PARENT, pd.Series(index=runs.index, dtype=object)).isna() & ~report_runs]
    if not runs.empty and selection.sweep == "latest":
        runs = latest_sweep(runs)
    elif not runs.empty and selection.sweep:
        runs = runs[runs.get("tags.sweep_dir", pd.Series(index=runs.index, dtype=object)) == selection.sweep]
    if runs.empty:
        raise ConfigError(
            "selection", selection.describe(), f"no finished job run matches in {redact_uri(client.tracking_uri)}"
        )
    runs = runs.reset_index(drop=True)
    experiments = tuple(sorted(runs["experiment_id"].unique()))
    return SelectedRuns(runs, stages_of(every, set(runs["run_id"])), experiments)


def stages_of(children: pd.DataFrame, parents: set[str]) -> pd.DataFrame:
    """The rows of `children` that are stage runs of the `parents` jobs."""
    if children.empty or PARENT not in children:
        return children.iloc[:0]
    return children[children[PARENT].isin(parents)].reset_index(drop=True)
