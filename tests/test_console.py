"""What a user reads: progress on the console, quiet libraries, run names, the MLflow UI's view
(experiment kind, dataset input) and the Keras callbacks built from the `callbacks` group."""

import io
import logging
import re
import subprocess
import sys

import numpy as np
import pytest
from omegaconf import OmegaConf

from conftest import (
    CLI_TIMEOUT_S,
    FAST,
    REPO_ROOT,
    compose_config,
    mlflow_client,
    store_overrides,
    store_uri,
    subprocess_env,
)


class FakeStream(io.StringIO):
    def __init__(self, tty: bool):
        super().__init__()
        self.tty = tty

    def isatty(self) -> bool:
        return self.tty


def fit_with_progress(stream, epochs=3):
    import keras

    from transferlab.progress import EpochProgress

    rng = np.random.default_rng(0)
    x = rng.standard_normal((256, 4)).astype(np.float32)
    y = (x[:, 0] > 0).astype(np.int32)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer="adam", loss="binary_crossentropy")
    progress = EpochProgress(stream=stream, interval_s=0.0)
    progress.stage = "pretrain"
    model.fit(x, y, validation_split=0.25, epochs=epochs, batch_size=32, verbose=0, callbacks=[progress])


def test_progress_off_a_terminal_logs_one_line_per_epoch(caplog):
    stream = FakeStream(tty=False)
    with caplog.at_level(logging.INFO, logger="transferlab.progress"):
        fit_with_progress(stream)
    lines = [r.getMessage() for r in caplog.records if r.name == "transferlab.progress"]
    epochs = [line for line in lines if re.match(r"pretrain epoch \d/3 loss \d\.\d{4} val_loss \d\.\d{4} \S+s$", line)]
    assert [line.split()[2] for line in epochs] == ["1/3", "2/3", "3/3"], lines
    assert re.match(r"pretrain: 3 epochs in \S+, best val_loss \d\.\d{4} at epoch \d$", lines[-1]), lines
    assert stream.getvalue() == ""  # no redrawn line, no control characters in a CI log


def test_progress_on_a_terminal_redraws_one_line_with_an_eta(caplog):
    stream = FakeStream(tty=True)
    with caplog.at_level(logging.INFO, logger="transferlab.progress"):
        fit_with_progress(stream)
    text = stream.getvalue()
    assert text.count("\n") == 1 and text.endswith("\n")  # one line, closed when training ends
    draws = [d for d in text.rstrip("\n").split("\r") if d]
    assert len(draws) >= 3  # redrawn (batches and epochs)
    assert "pretrain [" in draws[0] and "ETA" in draws[0]
    assert re.search(r"epoch 3/3 loss \d\.\d{4} val_loss \d\.\d{4}", draws[-1])
    messages = [r.getMessage() for r in caplog.records if r.name == "transferlab.progress"]
    assert len(messages) == 1 and messages[0].startswith("pretrain: 3 epochs")  # the summary only


# --- run names --------------------------------------------------------------------------------


def name_in_multirun(tmp_path, overrides, command_line, sweeper_params=None):
    """run_name as a multirun job with `overrides` sees it; `command_line` = the sweep's own
    overrides, written where Hydra writes them (multirun.yaml)."""
    from hydra.core.hydra_config import HydraConfig
    from hydra.types import RunMode

    from transferlab.tracking.params import run_name

    cfg = compose_config(*overrides, return_hydra_config=True)
    with open_dict(cfg):
        cfg.hydra.mode = RunMode.MULTIRUN
        cfg.hydra.sweep.dir = str(tmp_path)
        cfg.hydra.overrides.task = list(overrides)
        if sweeper_params is not None:
            cfg.hydra.sweeper.params = sweeper_params
    OmegaConf.save({"hydra": {"overrides": {"task": list(command_line)}}}, tmp_path / "multirun.yaml")
    HydraConfig.instance().set_config(cfg)
    try:
        return run_name(cfg)
    finally:
        HydraConfig.instance().cfg = None


def open_dict(cfg):
    from omegaconf import open_dict as opened

    return opened(cfg)


def test_single_run_is_named_dataset_model_strategy():
    from transferlab.tracking.params import run_name

    assert (
        run_name(compose_config("dataset=pima", "model=autoencoder", "strategy=finetune"))
        == "pima-autoencoder-finetune"
    )


def test_sweep_jobs_are_named_after_what_the_sweep_varies(tmp_path):
    job = ["dataset=pima", "arm=autoencoder_finetune", "trainer.seed=3", "trainer.epochs=2"]
    assert (
        name_in_multirun(
            tmp_path,
            job,
            ["dataset=pima", "arm=mlp_scratch,autoencoder_finetune", "trainer.seed=3,4", "trainer.epochs=2"],
        )
        == "pima-autoencoder_finetune-seed3"
    )
    # Only the seed varies: model and strategy stay in the name.
    assert (
        name_in_multirun(tmp_path, ["trainer.seed=1", "model.dropout=0.3"], ["trainer.seed=1,2", "model.dropout=0.3"])
        == "breast_cancer-mlp-scratch-seed1"
    )
    # A study's sweep (hydra.sweeper.params); a single value on the command line fixes that key.
    study = {"arm": "mlp_scratch,autoencoder_frozen", "trainer.seed": "42,1"}
    assert (
        name_in_multirun(
            tmp_path, ["dataset=pima", "arm=autoencoder_frozen", "trainer.seed=1"], ["dataset=pima"], study
        )
        == "pima-autoencoder_frozen-seed1"
    )
    assert (
        name_in_multirun(
            tmp_path,
            ["dataset=pima", "arm=autoencoder_frozen", "trainer.seed=1"],
            ["dataset=pima", "trainer.seed=1"],
            study,
        )
        == "pima-autoencoder_frozen"
    )


# --- MLflow: experiment kind, dataset input ---------------------------------------------------


def test_experiments_are_tagged_as_model_development_also_when_they_exist(tmp_path):
    import mlflow

    from transferlab.tracking.store import use_experiment

    uri = store_uri(tmp_path)
    client = mlflow_client(tmp_path)
    new_id = use_experiment(uri, "fresh", str(tmp_path / "mlruns"))
    old_id = client.create_experiment("older", artifact_location=(tmp_path / "mlruns" / "older").as_uri())
    assert "mlflow.experimentKind" not in client.get_experiment(old_id).tags
    assert use_experiment(uri, "older", str(tmp_path / "mlruns")) == old_id
    for experiment_id in (new_id, old_id):
        assert client.get_experiment(experiment_id).tags["mlflow.experimentKind"] == "custom_model_development"
    mlflow.set_tracking_uri(None)


def test_log_dataset_shows_the_data_with_its_fingerprint_as_digest(tmp_path):
    import mlflow

    from transferlab.tracking.datasets import log_dataset

    mlflow.set_tracking_uri(store_uri(tmp_path))
    fingerprint = "0123456789abcdef" * 4
    rows = {"features": np.zeros((5, 8), np.float32), "image": np.zeros((5, 4, 4, 1), np.float32)}
    with mlflow.start_run(experiment_id=mlflow_client(tmp_path).create_experiment("datasets")) as run:
        log_dataset("pima", "/data/pima/diabetes.csv", fingerprint, rows, np.array([0, 1, 0, 1, 1]))
    inputs = mlflow_client(tmp_path).get_run(run.info.run_id).inputs.dataset_inputs
    mlflow.set_tracking_uri(None)
    assert len(inputs) == 1
    dataset = inputs[0].dataset
    assert (dataset.name, dataset.digest) == ("pima", fingerprint[:36])
    assert "/data/pima/diabetes.csv" in dataset.source
    assert '\\"name\\": \\"features\\"' in dataset.schema and '\\"name\\": \\"image\\"' in dataset.schema
    assert [tag.value for tag in inputs[0].tags if tag.key == "mlflow.data.context"] == ["training"]


def test_a_dataset_another_job_inserts_meanwhile_is_retried_not_a_failed_run(tmp_path):
    """Parallel sweep jobs log the same dataset at once: the row appears between MLflow's look-up and
    its insert, which then breaks the UNIQUE constraint. Reproduced here with SQLAlchemy's own event
    hook: just before MLflow's first INSERT INTO datasets, the same row goes in first."""
    import mlflow
    from sqlalchemy import event
    from sqlalchemy.engine import Engine

    from transferlab.tracking.datasets import log_dataset

    raced = []

    def insert_first(connection, cursor, statement, parameters, context, executemany):
        if statement.startswith("INSERT INTO datasets") and not raced:
            raced.append(statement)
            connection.exec_driver_sql(statement, parameters)

    mlflow.set_tracking_uri(store_uri(tmp_path))
    experiment = mlflow_client(tmp_path).create_experiment("race")
    event.listen(Engine, "before_cursor_execute", insert_first)
    try:
        with mlflow.start_run(experiment_id=experiment) as run:
            log_dataset("pima", "/data/pima.csv", "f" * 64, {"features": np.zeros((2, 3))}, np.array([0, 1]))
    finally:
        event.remove(Engine, "before_cursor_execute", insert_first)
        mlflow.set_tracking_uri(None)
    assert raced  # the race happened
    finished = mlflow_client(tmp_path).get_run(run.info.run_id)
    assert finished.info.status == "FINISHED"
    assert [i.dataset.name for i in finished.inputs.dataset_inputs] == ["pima"]


# --- callbacks group ----------------------------------------------------------------------------


def callback_types(*overrides, stage="train"):
    from transferlab.config_checks import stage_settings
    from transferlab.training import stage_callbacks

    callbacks = stage_callbacks(stage_settings(compose_config(*overrides), stage), stage)
    return callbacks, [type(c).__name__ for c in callbacks]


def test_callbacks_group_builds_the_stage_callbacks():
    always = ["EpochMetricsLogger", "StopOnInvalidLoss"]  # the metrics logger and the stop on a NaN loss
    callbacks, names = callback_types("strategy=frozen", stage="pretrain")
    assert names == [*always, "EarlyStopping", "EpochProgress", "StageCheckpoint"]  # no heap trimming
    assert callbacks[2].patience == 20 and callbacks[2].monitor == "val_loss" and callbacks[2].restore_best_weights
    assert callbacks[3].stage == "pretrain" and callbacks[4].stage == "pretrain"
    assert callbacks[4].resumables == [callbacks[2]], "the checkpoint saves early stopping's state"
    _, names = callback_types("callbacks=[default,trim_heap]")
    assert names == [*always, "EarlyStopping", "EpochProgress", "TrimHeapWhileTraining", "StageCheckpoint"]
    _, names = callback_types("callbacks=none")
    assert names == always
    _, names = callback_types("trainer.callbacks.early_stopping=null")
    assert names == [*always, "EpochProgress", "StageCheckpoint"]


def early_stopping(callbacks):
    (found,) = [c for c in callbacks if type(c).__name__ == "EarlyStopping"]
    return found


def test_early_stopping_settings_per_study_and_per_stage():
    callbacks, _ = callback_types("experiment=higgs_lora", "arm=resnet_mlp_lora", stage="lora")
    assert early_stopping(callbacks).patience == 15
    callbacks, _ = callback_types(
        "strategy=frozen", "+strategy.stages.pretrain.callbacks.early_stopping.patience=4", stage="pretrain"
    )
    assert early_stopping(callbacks).patience == 4
    callbacks, _ = callback_types(
        "strategy=frozen", "+strategy.stages.pretrain.callbacks.early_stopping.patience=4", stage="frozen"
    )
    assert early_stopping(callbacks).patience == 20


# --- the console of a real run ------------------------------------------------------------------

NOISE = re.compile(
    r"tensorflow|absl|oneDNN|cpu_feature_guard|alembic|Creating initial|INFO|WARNING|Warning", re.IGNORECASE
)


@pytest.mark.slow
def test_a_default_run_prints_progress_and_no_library_noise(tmp_path):
    command = [sys.executable, str(REPO_ROOT / "run.py"), *FAST, *store_overrides(tmp_path)]
    done = subprocess.run(
        command, env=subprocess_env(tmp=tmp_path), cwd=REPO_ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )
    lines = (done.stdout + done.stderr).splitlines()
    assert done.returncode == 0, "\n".join(lines[-30:])
    assert [line for line in lines if NOISE.search(line)] == []
    assert any(re.search(r"train epoch 1/2 loss \d\.\d{4} val_loss \d\.\d{4}", line) for line in lines), lines
    assert any(re.search(r"train epoch 2/2 loss \d\.\d{4} val_loss \d\.\d{4}", line) for line in lines), lines
    assert any(
        re.search(
            r"MLflow run [0-9a-f]{32} \(breast_cancer-mlp-scratch\).*mlflow ui --backend-store-uri sqlite:"
            r".*#/experiments/\d+/runs/[0-9a-f]{32}",
            line,
        )
        for line in lines
    ), lines
    # The job's log file holds our lines (and the libraries' INFO lines that the console leaves out).
    log = (tmp_path / "out" / "cli.log").read_text()
    assert (
        "stage train: " in log and "train epoch 2/2" in log and "MLflow run " in log and "mlflow.store.db.utils" in log
    )
    # Per-epoch metrics are still in MLflow, one step per epoch.
    client = mlflow_client(tmp_path)
    stage_run = [
        r
        for r in client.search_runs([e.experiment_id for e in client.search_experiments()])
        if r.data.tags.get("stage") == "train"
    ][0]
    assert [m.step for m in client.get_metric_history(stage_run.info.run_id, "val_loss")] == [0, 1]


def tensorflow_banner() -> str:
    """The first line TensorFlow's C++ start-up writes to stderr on this machine (which one depends
    on the CPU: the oneDNN notice, or the cpu_feature_guard line)."""
    done = subprocess.run(
        [sys.executable, "-c", "import tensorflow"], env=subprocess_env(), capture_output=True, text=True, timeout=120
    )
    return done.stderr.strip().splitlines()[-1][-60:] if done.stderr.strip() else ""


@pytest.mark.slow
def test_verbose_brings_the_library_lines_back(tmp_path):
    command = [
        sys.executable,
        str(REPO_ROOT / "run.py"),
        *FAST,
        *store_overrides(tmp_path),
        "trainer.verbose=1",
        "trainer.epochs=1",
    ]
    done = subprocess.run(
        command, env=subprocess_env(tmp=tmp_path), cwd=REPO_ROOT, capture_output=True, text=True, timeout=CLI_TIMEOUT_S
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Creating initial MLflow database tables" in done.stderr
    assert tensorflow_banner() in done.stderr


def test_run_location_names_the_run_page_or_the_command_that_serves_the_store():
    from transferlab.tracking.runs import run_location

    page = "#/experiments/3/runs/abc?workflowType=machine_learning"
    assert run_location("http://tracking:5000/", "3", "abc") == f"http://tracking:5000/{page}"
    local = run_location("sqlite:////data/mlflow.db", "3", "abc")
    assert "mlflow ui --backend-store-uri sqlite:////data/mlflow.db" in local and local.endswith(
        f"http://127.0.0.1:5000/{page}"
    )
