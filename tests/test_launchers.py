"""Sweeps on the optional launchers, as a user runs them: Ray started in the sweep's process, a Ray
cluster the test starts (`ray start --head` on 127.0.0.1, stopped by its PID), submitit's local
executor (SLURM's stand-in here), and their bad input: a launcher whose extra is missing, a Ray
address nobody answers."""

import os
import signal
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

import pytest
from conftest import (
    FAST,
    REPO_ROOT,
    compose_config,
    describe,
    free_port,
    parent_runs,
    store_overrides,
    store_uri,
    subprocess_env,
)

SWEEP = ("-m", "trainer.seed=1,2", *FAST, "explainer=none")
# Joining a cluster that has token authentication (Ray's default for new clusters since 2.59) needs the
# mode and the token in the environment of every node and of the submitting shell (Ray's docs).
RAY_AUTH = {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": uuid.uuid4().hex}
RAY_START_S = 90
UNREACHABLE_LIMIT_S = 30  # process start-up and Hydra's composition included; Ray alone retries for ~20 s


def sweep(
    tmp_path: Path, *overrides: str, env: dict[str, str] | None = None, timeout: float = 900
) -> subprocess.CompletedProcess:
    """`python run.py -m OVERRIDES trainer.seed=1,2 ...` writing into `tmp_path`; the store is named by
    MLFLOW_TRACKING_URI only (subprocess_env), as a user's shell names it."""
    outputs = [o for o in store_overrides(tmp_path) if not o.startswith("tracking.uri=")]
    command = [sys.executable, "run.py", *SWEEP, *overrides, *outputs]
    environment = env or subprocess_env(tmp=tmp_path)
    return subprocess.run(command, cwd=REPO_ROOT, env=environment, capture_output=True, text=True, timeout=timeout)


def assert_two_finished_jobs(tmp_path: Path, result: subprocess.CompletedProcess) -> None:
    assert result.returncode == 0, describe(result)
    runs = parent_runs(tmp_path)
    assert sorted(r.data.params["trainer.seed"] for r in runs) == ["1", "2"], describe(result)
    assert {r.info.status for r in runs} == {"FINISHED"}
    assert all("test_roc_auc" in r.data.metrics for r in runs)


def short_temp_dir() -> str:
    """Ray's session folder holds unix sockets, whose paths must stay under 108 characters."""
    return tempfile.mkdtemp(prefix="ray", dir="/tmp")


@pytest.mark.slow
def test_a_sweep_on_ray_started_in_its_own_process(tmp_path):
    result = sweep(
        tmp_path,
        "hydra/launcher=ray",
        "+hydra.launcher.ray.init.num_cpus=2",
        f"+hydra.launcher.ray.init._temp_dir={short_temp_dir()}",
    )
    assert_two_finished_jobs(tmp_path, result)
    assert "Started a local Ray instance" in result.stderr + result.stdout


@pytest.fixture
def ray_head(tmp_path):
    """(address, environment) of a Ray cluster started for the test on 127.0.0.1; stopped by its PID.
    Its environment names another store, as a cluster's machines have their own environment."""
    port = free_port()
    env = dict(subprocess_env(), **RAY_AUTH, MLFLOW_TRACKING_URI=store_uri(tmp_path / "cluster_env_store"))
    command = [str(Path(sys.executable).parent / "ray"), "start", "--head", "--block", "--disable-usage-stats"]
    command += ["--node-ip-address", "127.0.0.1", "--port", str(port), "--num-cpus", "2"]
    command += ["--include-dashboard", "false", "--temp-dir", short_temp_dir()]
    with (tmp_path / "ray_head.log").open("w") as log:
        head = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    deadline = time.monotonic() + RAY_START_S
    while "Ray runtime started" not in (tmp_path / "ray_head.log").read_text():
        assert head.poll() is None and time.monotonic() < deadline, (tmp_path / "ray_head.log").read_text()[-3000:]
        time.sleep(0.5)
    yield f"127.0.0.1:{port}", env
    os.killpg(head.pid, signal.SIGTERM)  # `ray start --block` stops the cluster's processes on SIGTERM
    try:
        head.wait(timeout=60)
    except subprocess.TimeoutExpired:
        os.killpg(head.pid, signal.SIGKILL)
        head.wait()


@pytest.mark.slow
def test_a_sweep_joins_a_running_ray_cluster_and_logs_to_the_submitting_shells_store(ray_head, tmp_path):
    address, cluster_env = ray_head
    # The store is named by MLFLOW_TRACKING_URI: the jobs, run by the cluster's processes, must still log
    # to the submitting shell's store (hydra/launcher=ray_cluster passes it on), not the cluster's.
    env = dict(subprocess_env(tmp=tmp_path), **RAY_AUTH)
    result = sweep(tmp_path, "hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address={address}", env=env)
    assert_two_finished_jobs(tmp_path, result)
    assert "Connecting to existing Ray cluster" in result.stderr + result.stdout
    assert not (tmp_path / "cluster_env_store" / "mlflow.db").exists()


@pytest.mark.slow
def test_a_sweep_on_submitit_the_stand_in_for_slurm(tmp_path):
    result = sweep(tmp_path, "hydra/launcher=submitit_local", "hydra.launcher.timeout_min=20")
    assert_two_finished_jobs(tmp_path, result)
    assert any((tmp_path / "multirun" / ".submitit").iterdir())  # submitit's job folders: pickles, logs


def test_the_slurm_preset_names_its_resources():
    launcher = compose_config("hydra/launcher=slurm", return_hydra_config=True).hydra.launcher
    assert launcher._target_.endswith("submitit_launcher.SlurmLauncher")
    assert (launcher.gpus_per_node, launcher.cpus_per_task, launcher.timeout_min, launcher.mem_gb) == (1, 8, 240, 32)
    assert "partition" in launcher and "account" in launcher and "setup" in launcher


def test_a_launcher_whose_extra_is_missing_is_one_line_and_exit_2(tmp_path):
    # sitecustomize hides the plugin, as on an install without the extra
    (tmp_path / "site").mkdir()
    (tmp_path / "site" / "sitecustomize.py").write_text(
        "import sys\n"
        "class Hide:\n"
        "    def find_spec(self, name, path=None, target=None):\n"
        "        if name.startswith('hydra_plugins.hydra_ray_launcher'):\n"
        "            raise ModuleNotFoundError(name)\n"
        "sys.meta_path.insert(0, Hide())\n"
    )
    env = dict(subprocess_env(tmp=tmp_path), PYTHONPATH=str(tmp_path / "site"))
    result = sweep(tmp_path, "hydra/launcher=ray", env=env)
    assert result.returncode == 2, describe(result)
    assert result.stderr.strip() == 'error: hydra/launcher=ray: needs the "ray" extra: pip install -e ".[ray]"'
    assert parent_runs(tmp_path) == []


def test_a_ray_address_nobody_answers_is_one_line_within_seconds(tmp_path):
    address = f"127.0.0.1:{free_port()}"
    overrides = ("hydra/launcher=ray_cluster", f"hydra.launcher.ray.init.address={address}")
    result = sweep(tmp_path, *overrides, timeout=UNREACHABLE_LIMIT_S)  # TimeoutExpired past the limit
    assert result.returncode == 2, describe(result)
    lines = result.stderr.strip().splitlines()
    assert lines == [
        f"error: hydra.launcher.ray.init.address={address}: no Ray cluster answers there "
        "(Connection refused); start one with `ray start --head` or fix the address"
    ], describe(result)
    assert parent_runs(tmp_path) == []
