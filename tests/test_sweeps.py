"""Sweeps that finish and resume (`python run.py -m ...`): every job checked before the first
starts, failing jobs recorded while the others run, a summary at the end, finished configs skipped
on a re-run."""

import gc

import pandas as pd
import pytest
from hydra.core.hydra_config import HydraConfig
from omegaconf import open_dict
from conftest import FAST, PIMA_CSV, all_runs, compose_config, describe, mlflow_client, parent_runs, store_uri

from transferlab.errors import ConfigError
from transferlab.sweeps.job_status import read_records
from transferlab.sweeps.resume import CONFIG_HASH_TAG, config_hash, finished_run
from transferlab.sweeps.sweep_job import run_sweep_job

QUICK = (*FAST, "explainer=none")
# The Pima CSV as a user's file: a target column that does not exist fails at run time, once the
# data is read (the config check before the sweep cannot know the file's columns).
PIMA = ("dataset=csv", f"dataset.loader.path={PIMA_CSV}")
NO_COLUMN = "dataset.loader.target=nope: not a column of"


def summary(tmp_path) -> pd.DataFrame:
    return pd.read_csv(tmp_path / "multirun" / "sweep_summary.csv")


def assert_nothing_running(tmp_path):
    assert [r.info.run_name for r in all_runs(tmp_path) if r.info.status == "RUNNING"] == []


@pytest.mark.parametrize(
    "launcher",
    [
        pytest.param([], id="basic"),
        pytest.param(["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], marks=pytest.mark.slow, id="joblib"),
    ],
)
def test_a_bad_value_in_any_job_stops_the_sweep_before_any_job_runs(run_cli, tmp_path, launcher):
    sweep = ("trainer.learning_rate=0.001,-1,0.01", "trainer.epochs=2,0", "tracking.log_model=false", "explainer=none")
    result = run_cli("-m", *launcher, *sweep)
    assert result.returncode == 2, describe(result)
    assert result.stderr.splitlines() == [
        "error: job 1: trainer.epochs=0: must be a positive integer",
        "error: job 2: trainer.learning_rate=-1: must be a positive number",
        "error: job 3: trainer.epochs=0: must be a positive integer",
        "error: job 5: trainer.epochs=0: must be a positive integer",
    ], describe(result)
    assert not (tmp_path / "mlflow.db").exists() and not (tmp_path / "multirun").exists()


@pytest.mark.slow
def test_an_optuna_search_space_bound_the_config_refuses_stops_the_search(run_cli, tmp_path):
    result = run_cli("hparams_search=optuna", "trainer.learning_rate=interval(-1,0.01)", *QUICK)
    assert result.returncode == 2, describe(result)
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [
        "error: search space trainer.learning_rate=interval(-1,0.01): "
        "trainer.learning_rate=-1.0: must be a positive number"
    ], describe(result)
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    "launcher, failing",
    [
        ([], "dataset.loader.target=nope"),  # a ConfigError raised inside the job: one line
        (["hydra/launcher=joblib", "hydra.launcher.n_jobs=2"], "trainer.learning_rate=1e30"),  # NaN weights
    ],
    ids=["basic-data", "joblib-numerics"],
)
def test_a_job_failing_at_run_time_leaves_the_other_jobs_running(run_cli, tmp_path, launcher, failing):
    key, value = failing.split("=")
    good = {"dataset.loader.target": "Outcome", "trainer.learning_rate": "0.001"}[key]
    target = [] if key == "dataset.loader.target" else ["dataset.loader.target=Outcome"]
    result = run_cli("-m", *launcher, *PIMA, *target, f"{key}={value},{good}", *QUICK)
    assert result.returncode == 1, describe(result)
    assert "error: 1 of 2 jobs failed" in result.stderr, describe(result)

    table = summary(tmp_path)
    assert list(table.columns) == ["job", "overrides", "status", "objective", "run_id", "error"]
    assert list(table.status) == ["FAILED", "FINISHED"], table
    assert f"{key}={good}" in table.overrides[1] and f"{key}={good}" not in table.overrides[0]
    assert pd.isna(table.objective[0]) and isinstance(table.error[0], str) and "\n" not in table.error[0]
    [finished] = [r for r in parent_runs(tmp_path) if r.info.status == "FINISHED"]
    assert table.run_id[1] == finished.info.run_id
    assert table.objective[1] == pytest.approx(finished.data.metrics["val_roc_auc"])
    assert "sweep summary" in result.stdout and "FAILED" in result.stdout
    if key == "dataset.loader.target":  # no MLflow run: the data check comes before it
        assert f"error: job 0: {NO_COLUMN}" in result.stderr and table.error[0].startswith(NO_COLUMN)
        assert len(parent_runs(tmp_path)) == 1
    else:  # the run started, then failed: FAILED in MLflow
        assert [r.info.status for r in parent_runs(tmp_path)].count("FAILED") == 1
    assert_nothing_running(tmp_path)


@pytest.mark.slow
def test_eight_jobs_on_four_joblib_workers_share_one_sqlite_store(run_cli, tmp_path):
    seeds = ",".join(str(seed) for seed in range(1, 9))
    joblib = ("hydra/launcher=joblib", "hydra.launcher.n_jobs=4")
    result = run_cli("-m", *joblib, f"trainer.seed={seeds}", "trainer.epochs=2", "explainer=none")
    assert result.returncode == 0, describe(result)
    parents = parent_runs(tmp_path)
    assert sorted(int(r.data.params["trainer.seed"]) for r in parents) == list(range(1, 9))
    assert {r.info.status for r in all_runs(tmp_path)} == {"FINISHED"}
    client = mlflow_client(tmp_path)
    expected_metrics = {"val_roc_auc", "test_roc_auc", "test_f1", "train_seconds", "memory_peak_mb"}
    for run in parents:
        assert expected_metrics <= run.data.metrics.keys(), run.data.metrics.keys()
        artifacts = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"config", "evaluation", "training_curves"} <= artifacts, artifacts
        models = client.search_logged_models([run.info.experiment_id], f"source_run_id = '{run.info.run_id}'")
        assert {m.name for m in models} == {"model", "keras_model"}  # MLflow 3 keeps models beside the run
    table = summary(tmp_path)
    assert list(table.job) == list(range(8)) and set(table.status) == {"FINISHED"}


@pytest.mark.slow
def test_rerunning_a_sweep_skips_its_finished_jobs(run_cli, tmp_path):
    sweep = ("-m", "trainer.seed=1,2", *QUICK)
    result = run_cli(*sweep)
    assert result.returncode == 0, describe(result)
    first = {r.data.params["trainer.seed"]: r for r in parent_runs(tmp_path)}

    result = run_cli(*sweep)
    assert result.returncode == 0, describe(result)
    for job, seed in enumerate(("1", "2")):
        assert f"job {job}: skipped, finished run {first[seed].info.run_id} has the same config" in result.stdout
    assert len(parent_runs(tmp_path)) == 2
    table = summary(tmp_path)
    assert list(table.status) == ["SKIPPED", "SKIPPED"]
    assert list(table.run_id) == [first["1"].info.run_id, first["2"].info.run_id]
    assert list(table.objective) == pytest.approx([first[s].data.metrics["val_roc_auc"] for s in ("1", "2")])

    mlflow_client(tmp_path).delete_run(first["2"].info.run_id)  # a sweep cut short: job 1 never finished
    result = run_cli(*sweep)
    assert result.returncode == 0, describe(result)
    assert list(summary(tmp_path).status) == ["SKIPPED", "FINISHED"]
    active = [r for r in parent_runs(tmp_path) if r.info.lifecycle_stage == "active"]
    assert sorted(r.data.params["trainer.seed"] for r in active) == ["1", "2"] and len(active) == 2


@pytest.mark.slow
def test_an_optuna_trial_that_fails_is_a_failed_trial_and_the_search_goes_on(run_cli, tmp_path):
    """The failed trials return no objective: Optuna records them as failed and samples on."""
    result = run_cli(
        "hparams_search=optuna", "hydra.sweeper.n_trials=3", "trainer.seed=6", *PIMA,
        "dataset.loader.target=choice(nope,Outcome)", *QUICK,
    )  # fmt: skip
    assert result.returncode == 1, describe(result)
    table = summary(tmp_path)
    assert list(table.status) == ["FAILED", "FINISHED", "FAILED"], table  # the sampler's draws for seed 6
    assert all(error.startswith(NO_COLUMN) for error in table[table.status == "FAILED"].error)
    assert (tmp_path / "multirun" / "optimization_results.yaml").is_file()  # the search ended normally
    assert {r.info.status for r in parent_runs(tmp_path)} == {"FINISHED"}
    assert_nothing_running(tmp_path)


def test_the_config_hash_ignores_where_things_are_kept_and_nothing_else(compose, tmp_path):
    base = config_hash(compose(*QUICK))
    assert config_hash(compose(*QUICK, "tracking.uri=sqlite:///elsewhere.db", "paths.cache_dir=/elsewhere")) == base
    assert config_hash(compose(*QUICK, "tracking.skip_finished=false", "trainer.verbose=1")) == base
    assert config_hash(compose(*QUICK, "tracking.system_metrics=true", "tracking.system_metrics_interval_s=1")) == base
    assert config_hash(compose(*QUICK, "trainer.learning_rate=0.01")) != base
    assert config_hash(compose(*QUICK, "model.dropout=0.3")) != base


def test_skip_finished_false_never_looks_for_a_finished_run(tmp_path):
    cfg = compose_config(*QUICK, "tracking.skip_finished=false", f"tracking.uri={store_uri(tmp_path)}")
    assert finished_run(cfg) is None
    assert not (tmp_path / "mlflow.db").exists()


@pytest.mark.slow
def test_every_job_run_is_tagged_with_its_config_hash(compose, run_job, tmp_path):
    cfg = compose(*QUICK)
    run_job(cfg)
    [run] = parent_runs(tmp_path)
    assert run.data.tags[CONFIG_HASH_TAG] == config_hash(cfg)
    assert finished_run(cfg).info.run_id == run.info.run_id


def traced_graphs() -> int:
    """TensorFlow graphs (traced functions) alive in this process, after a full collection."""
    from tensorflow.python.framework.func_graph import FuncGraph

    gc.collect()
    return sum(isinstance(o, FuncGraph) for o in gc.get_objects())


def test_a_job_leaves_no_traced_graph_behind_for_the_next_job_of_the_process(compose, run_job):
    """TensorFlow keeps the custom gradient of every training step it traces, and the step with it;
    a sweep's process grew ~7 MB a job until run_job dropped them (benchmarks/sweep_memory.py)."""
    run_job(compose(*QUICK))
    after_first = traced_graphs()
    run_job(compose(*QUICK, "trainer.seed=1"))
    assert traced_graphs() == after_first


@pytest.mark.parametrize(
    "error, line",
    [
        (ConfigError("dataset.loader.target", "nope", "not a column"), "dataset.loader.target=nope: not a column"),
        (RuntimeError("out of memory\nmore lines"), "RuntimeError: out of memory (traceback: {dir}/error.txt)"),
    ],
    ids=["config-error", "other-exception"],
)
def test_a_failing_sweep_job_returns_no_objective_and_records_its_error(
    compose, tmp_path, capsys, monkeypatch, error, line
):
    """In-process, as the launcher calls the job: nothing raised, one line, the record for the summary."""
    cfg = compose(*QUICK, "tracking.skip_finished=false")
    job_dir = tmp_path / "multirun" / "3"
    job_dir.mkdir(parents=True)
    hydra_cfg = compose_hydra(job_dir)
    monkeypatch.setattr(HydraConfig.instance(), "cfg", None)  # put back after the test
    HydraConfig.instance().set_config(hydra_cfg)

    def run(_):
        raise error

    assert run_sweep_job(cfg, run, lambda err: err if isinstance(err, ConfigError) else None) is None
    assert capsys.readouterr().err.splitlines() == ["error: job 3: " + line.format(dir=job_dir)]
    [record] = read_records(tmp_path / "multirun")
    assert (record.job, record.status, record.objective) == (3, "FAILED", None)
    assert record.error == line.split(" (traceback")[0]
    assert (job_dir / "error.txt").is_file() == (not isinstance(error, ConfigError))
    assert "tracking.uri=http://bob:***@127.0.0.1:1" in record.overrides and "secret" not in record.overrides


def compose_hydra(job_dir):
    """A job's config with the Hydra node a launcher gives job 3 of a sweep."""
    cfg = compose_config(*QUICK, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.runtime.output_dir = str(job_dir)
        cfg.hydra.job.num = 3
        cfg.hydra.overrides.task = [*QUICK, "tracking.uri=http://bob:secret@127.0.0.1:1"]
    return cfg
