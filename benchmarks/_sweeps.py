"""Helpers of the sweep benchmarks: a `run.py -m` sweep into a temporary store, and its runs read back.

Nothing here imports Keras; MLflow only when the runs are read.
"""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import _common as common

RUN_PY = common.PROJECT_ROOT / "run.py"


def add_sweep_arguments(parser, jobs: int, epochs: int) -> None:
    """The options both sweep benchmarks share: the jobs' size, backend, and what to keep or record."""
    parser.add_argument("--jobs", type=int, default=jobs, help=f"jobs in the sweep (default {jobs})")
    parser.add_argument("--epochs", type=int, default=epochs, help=f"trainer.epochs of each job (default {epochs})")
    parser.add_argument("--dataset", default="breast_cancer", help="dataset of the jobs (default breast_cancer)")
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default="tensorflow")
    parser.add_argument("--keep-tmp", action="store_true", help="keep the temporary stores and sweep folders")
    parser.add_argument("--strict", action="store_true", help="exit 3 when the target is missed")
    parser.add_argument("--record", action="store_true", help="write/replace this section of benchmarks/RESULTS.md")


def sweep_command(args, store: Path, *extra: str) -> list[str]:
    """`python run.py -m` over trainer.seed=0..jobs-1, writing only under `store`."""
    seeds = ",".join(str(seed) for seed in range(args.jobs))
    command = [sys.executable, str(RUN_PY), "-m", f"dataset={args.dataset}", f"trainer.seed={seeds}"]
    command += [f"trainer.epochs={args.epochs}", "explainer=none", "tracking.skip_finished=false"]
    command += [f"tracking.uri={store_uri(store)}", f"tracking.artifact_root={store}/mlruns"]
    command += [f"paths.cache_dir={store}/cache", f"hydra.sweep.dir={store}/multirun", *extra]
    return command


def store_uri(store: Path) -> str:
    return f"sqlite:///{store}/mlflow.db"


def sweep_env(backend: str, *paths: Path) -> dict[str, str]:
    """This checkout's src/ (and `paths`) first on PYTHONPATH, for the sweep and the workers it starts."""
    python_path = [str(common.SRC_DIR), *map(str, paths), os.environ.get("PYTHONPATH", "")]
    env = dict(os.environ, KERAS_BACKEND=backend, TF_CPP_MIN_LOG_LEVEL="2", PYTHONPATH=os.pathsep.join(python_path))
    env.pop("MLFLOW_TRACKING_URI", None)  # the jobs get the temporary store through tracking.uri
    if backend == "jax":
        env.setdefault("JAX_PLATFORMS", "cpu")
    return env


def run_sweep(command: list[str], env: dict, label: str, log: Path) -> float:
    """Wall seconds of the sweep, from spawn to exit; its output goes to `log`. Exits on failure."""
    log.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    with log.open("w") as out:
        done = subprocess.run(command, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=common.PROJECT_ROOT)
    wall = time.perf_counter() - started
    if done.returncode != 0:
        tail = "\n".join(log.read_text().strip().splitlines()[-30:])
        sys.exit(f"error: the {label} sweep exited {done.returncode}:\n  {' '.join(command)}\n{tail}")
    return wall


@dataclass
class JobRun:
    """What a sweep job's MLflow run says about its own time."""

    seed: int
    train_seconds: float  # its stages' fit time (the pipeline's train_seconds)
    run_seconds: float  # its MLflow run, start to end (data, model, fit, evaluation, logging)
    started: float  # when its MLflow run started, seconds since the epoch


def finished_runs(store: Path, jobs: int, label: str) -> list[JobRun]:
    """The sweep's job runs, one per seed, all FINISHED; exits loudly otherwise."""
    from mlflow import MlflowClient
    from mlflow.entities import ViewType

    client = MlflowClient(store_uri(store))
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ALL)]
    runs = client.search_runs(experiments, run_view_type=ViewType.ALL, max_results=10_000) if experiments else []
    parents = [r for r in runs if "mlflow.parentRunId" not in r.data.tags]
    finished = [r for r in parents if r.info.status == "FINISHED"]
    seeds = sorted(int(r.data.params["trainer.seed"]) for r in finished)
    if len(parents) != jobs or seeds != list(range(jobs)):
        statuses = sorted(f"seed {r.data.params.get('trainer.seed')}: {r.info.status}" for r in parents)
        sys.exit(f"error: the {label} sweep should have {jobs} FINISHED runs (seeds 0-{jobs - 1}), found {statuses}")
    return [job_run(r) for r in sorted(finished, key=lambda r: int(r.data.params["trainer.seed"]))]


def job_run(run) -> JobRun:
    return JobRun(
        seed=int(run.data.params["trainer.seed"]),
        train_seconds=run.data.metrics["train_seconds"],
        run_seconds=(run.info.end_time - run.info.start_time) / 1000.0,
        started=run.info.start_time / 1000.0,
    )
