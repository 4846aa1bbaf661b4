"""Shared set-up: every test writes to its own MLflow store and Hydra output folders in tmp_path.

Never the project's mlflow.db / mlruns: a long study may be writing to them while tests run.
In-process tests run Keras on TensorFlow (the backend is fixed once per process); anything on
JAX runs in a subprocess with KERAS_BACKEND=jax.
"""

import contextlib
import functools
import os
import socket
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[1]
CONF_DIR = REPO_ROOT / "conf"
EXPERIMENTS_DIR = REPO_ROOT / "experiments"
DATA_DIR = REPO_ROOT / "tests" / "data"  # small real files cut from ../shared/data (tests/data/README.md)
PIMA_CSV = DATA_DIR / "pima" / "diabetes.csv"
HIGGS_SAMPLE = DATA_DIR / "higgs" / "HIGGS_subset_uci.csv.gz"

# Before transferlab, Hydra configs or Keras are imported anywhere in this process.
os.environ["TRANSFERLAB_DATA_DIR"] = str(DATA_DIR)
os.environ["KERAS_BACKEND"] = "tensorflow"
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.pop("MLFLOW_TRACKING_URI", None)  # the default store would be the project's mlflow.db
os.environ.pop("HYDRA_FULL_ERROR", None)  # changes what the CLI prints on errors

import hydra  # noqa: E402
import pytest  # noqa: E402
from hydra.core.config_store import ConfigStore  # noqa: E402
from mlflow import MlflowClient  # noqa: E402
from mlflow.entities import ViewType  # noqa: E402

from transferlab.cli import register_experiments, selected_experiments  # noqa: E402  (also registers ${project_root:})

# Tiny training for every job that is not about training length.
FAST = ("trainer.epochs=2", "tracking.log_model=false")
# The columns of evaluation/threshold_table.csv (evaluation.thresholds.threshold_table).
THRESHOLD_COLUMNS = [
    "beta",
    "threshold",
    "val_fbeta",
    "test_fbeta",
    "tn",
    "fp",
    "fn",
    "tp",
    "oracle_threshold",
    "oracle_test_fbeta",
]
CLI_TIMEOUT_S = 420


# --- plain helpers (imported by test modules: `from conftest import ...`) -----------------------


def store_uri(tmp: Path) -> str:
    return f"sqlite:///{tmp}/mlflow.db"


@functools.cache
def empty_store() -> tempfile.TemporaryDirectory:
    """A folder holding an MLflow SQLite store with every schema migration applied, made once per
    test process and removed when it exits."""
    folder = tempfile.TemporaryDirectory(prefix="transferlab-empty-store-")
    MlflowClient(tracking_uri=store_uri(Path(folder.name))).search_experiments()
    return folder


def migrated_store_uri(tmp: Path) -> str:
    """store_uri(tmp), its store copied from empty_store() when tmp has none: a new store runs ~70
    Alembic migrations (~2 s), which in-process jobs need not repeat (the CLI tests still create theirs)."""
    if not (tmp / "mlflow.db").exists():
        shutil.copyfile(Path(empty_store().name) / "mlflow.db", tmp / "mlflow.db")
    return store_uri(tmp)


def store_overrides(tmp: Path) -> list[str]:
    """Overrides that keep a job's MLflow store and Hydra outputs inside `tmp`."""
    return [
        f"tracking.uri={store_uri(tmp)}",
        f"tracking.artifact_root={tmp}/mlruns",
        f"paths.cache_dir={tmp}/cache",
        f"hydra.run.dir={tmp}/out",
        f"hydra.sweep.dir={tmp}/multirun",
    ]


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on now."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def mlflow_client(tmp: Path) -> MlflowClient:
    return MlflowClient(tracking_uri=store_uri(tmp))


def all_runs(tmp: Path) -> list:
    """Every run in every experiment of the store in `tmp` ([] when no store was created)."""
    if not (tmp / "mlflow.db").exists():
        return []
    client = mlflow_client(tmp)
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    return client.search_runs(experiments, run_view_type=ViewType.ALL, max_results=10_000) if experiments else []


def parent_runs(tmp: Path) -> list:
    return [r for r in all_runs(tmp) if "mlflow.parentRunId" not in r.data.tags]


def child_runs(tmp: Path, parent) -> list:
    return [r for r in all_runs(tmp) if r.data.tags.get("mlflow.parentRunId") == parent.info.run_id]


def artifact_paths(client: MlflowClient, run_id: str, path: str | None = None) -> set[str]:
    """Every artifact file of a run, recursively."""
    found = set()
    for info in client.list_artifacts(run_id, path):
        found |= artifact_paths(client, run_id, info.path) if info.is_dir else {info.path}
    return found


@contextlib.contextmanager
def presets_of(overrides) -> Iterator[None]:
    """Within the block, the experiment presets `overrides` select (and those they extend) are the
    registered ones, as run.py registers them before checking and composing; the registry as it
    was afterwards. Hydra deep-copies every registered preset at each composition: with all of
    them, a composition takes ~20% longer."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setitem(ConfigStore.instance().repo, "experiment", {})
        register_experiments(names=selected_experiments(list(overrides)))
        yield


def compose_config(*overrides: str, return_hydra_config: bool = False):
    """The config `python run.py OVERRIDES` would run with (composed in-process, no job started)."""
    with presets_of(overrides), hydra.initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return hydra.compose(config_name="config", overrides=list(overrides), return_hydra_config=return_hydra_config)


def subprocess_env(backend: str = "tensorflow", tmp: Path | None = None) -> dict[str, str]:
    env = dict(os.environ, TRANSFERLAB_DATA_DIR=str(DATA_DIR), KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("HYDRA_FULL_ERROR", None)
    # mlflow.set_experiment in an earlier in-process test exports its experiment for subprocesses,
    # which would then look for it in their own (other) store.
    for name in ("MLFLOW_EXPERIMENT_ID", "MLFLOW_EXPERIMENT_NAME", "MLFLOW_RUN_ID"):
        env.pop(name, None)
    if tmp is not None:
        env["MLFLOW_TRACKING_URI"] = store_uri(tmp)  # belt and braces: the default store is tmp too
    return env


def run_python(*args: str, backend: str = "jax", timeout: float = 300) -> str:
    """`python ARGS` in the repo root on `backend` (a fresh process: the backend is fixed once per
    process); asserts it exited 0 and returns its stdout."""
    result = subprocess.run(
        [sys.executable, *args],
        cwd=REPO_ROOT,
        env=subprocess_env(backend),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    assert result.returncode == 0, result.stderr[-4000:]
    return result.stdout


def last_line(text: str) -> str:
    lines = [line for line in text.splitlines() if line.strip()]
    return lines[-1] if lines else ""


# --- fixtures -----------------------------------------------------------------------------------


@pytest.fixture
def run_cli(tmp_path):
    """run_cli(*overrides, backend=...) -> CompletedProcess of `python run.py ...` in the repo
    root, with this test's tmp MLflow store and Hydra output folders appended."""

    def run(
        *overrides: str, backend: str = "tensorflow", timeout: float = CLI_TIMEOUT_S
    ) -> subprocess.CompletedProcess:
        flags = [o for o in overrides if o.startswith("-")]
        values = [o for o in overrides if not o.startswith("-")]
        command = [sys.executable, "run.py", *flags, *values, *store_overrides(tmp_path)]
        return subprocess.run(
            command,
            cwd=REPO_ROOT,
            env=subprocess_env(backend, tmp_path),
            capture_output=True,
            text=True,
            timeout=timeout,
        )

    return run


@pytest.fixture
def compose(tmp_path):
    """compose(*overrides) -> DictConfig tracking to this test's tmp store."""

    def build(*overrides: str):
        return compose_config(
            *overrides,
            f"tracking.uri={migrated_store_uri(tmp_path)}",
            f"tracking.artifact_root={tmp_path}/mlruns",
            f"paths.cache_dir={tmp_path}/cache",
        )

    return build


@pytest.fixture
def run_job():
    """transferlab.pipeline.run_job (importing it imports Keras, on TensorFlow in-process)."""
    from transferlab.pipeline import run_job as job

    return job


def describe(result: subprocess.CompletedProcess) -> str:
    """Assertion message for a failed CLI call: exit code and the tail of its output."""
    return f"exit {result.returncode}\n--- stdout ---\n{result.stdout[-3000:]}\n--- stderr ---\n{result.stderr[-5000:]}"


def rejection(tmp: Path, *overrides: str) -> str:
    """The line `python run.py OVERRIDES` would print before exiting 2, found in-process: the CLI's
    option check, then the job on this test's tmp store until it raises. Asserts that it is a
    ConfigError (also when Hydra's instantiate wrapped it), one line, and that no run was started
    (runs already in the store, e.g. a source run the overrides name, stay the only ones).
    Pass sweep values without `-m` (`model=mlp,nope`)."""
    from transferlab.cli import check_command_line, find_config_error
    from transferlab.config_checks import check_config
    from transferlab.pipeline import run_job

    before = {run.info.run_id for run in all_runs(tmp)}
    with pytest.raises(Exception) as caught:
        with presets_of(overrides):
            check_command_line(list(overrides))
        cfg = compose_config(
            *overrides,
            f"tracking.uri={migrated_store_uri(tmp)}",
            f"tracking.artifact_root={tmp}/mlruns",
            f"paths.cache_dir={tmp}/cache",
        )
        check_config(cfg)
        run_job(cfg)
    error = find_config_error(caught.value)
    assert error is not None, f"not a ConfigError: {caught.value!r}"
    assert {run.info.run_id for run in all_runs(tmp)} == before, "a rejected job must not start a run"
    line = f"error: {error}"
    assert "\n" not in line, line
    return line
