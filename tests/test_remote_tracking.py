"""A real `mlflow server` as the tracking store: artifacts and models reach the server, an
unreachable server fails in seconds with one line, and credentials never reach the run.

The server is started by the tests (its own SQLite store and --artifacts-destination in tmp), and
every job is a real `python run.py` in a subprocess.
"""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request

import pytest
from conftest import REPO_ROOT, describe, subprocess_env
from mlflow import MlflowClient

URI_SECRET = "uri-Pa55w0rd"  # the password in MLFLOW_TRACKING_URI
ENV_SECRET = "env-T0ken-42"  # MLFLOW_TRACKING_PASSWORD, also given on the command line as a secret-named key
JOB = ("dataset=breast_cancer", "trainer.epochs=2", "explainer=none")
# Retrying an unanswered request took 255 s with MLflow's defaults; the whole check must end well within this.
UNREACHABLE_LIMIT_S = 15


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the server's process group (mlflow server runs uvicorn as a child), SIGKILL if it lingers."""
    for sig, wait_s in ((signal.SIGTERM, 20), (signal.SIGKILL, 10)):
        try:
            os.killpg(process.pid, sig)
        except ProcessLookupError:
            return
        try:
            process.wait(timeout=wait_s)
            return
        except subprocess.TimeoutExpired:
            continue


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """A real tracking server on a free port: (url, folder holding its server.db and server_artifacts)."""
    folder = tmp_path_factory.mktemp("server")
    port = free_port()
    command = [sys.executable, "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(port), "--workers", "1"]
    command += ["--backend-store-uri", f"sqlite:///{folder}/server.db"]
    command += ["--artifacts-destination", str(folder / "server_artifacts")]
    env = dict(os.environ, MLFLOW_SERVER_ENABLE_JOB_EXECUTION="false")  # no job runner and huey workers
    with (folder / "server.log").open("w") as log:  # its own process group, so stop() reaches uvicorn too
        process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 120
    while True:
        try:
            with urllib.request.urlopen(f"{url}/health", timeout=2) as answer:
                if answer.status == 200:
                    break
        except OSError:
            pass
        if process.poll() is not None or time.monotonic() > deadline:
            stop(process)
            pytest.fail(f"mlflow server did not start:\n{(folder / 'server.log').read_text()[-3000:]}")
        time.sleep(0.5)
    yield url, folder
    stop(process)


@pytest.fixture(scope="module")
def remote_job(server, tmp_path_factory):
    """One real job against the server, the way issue 17 found the leak: MLFLOW_TRACKING_URI with
    a password, plus MLFLOW_TRACKING_USERNAME/PASSWORD set and that password typed on the command
    line as `+tracking.api_token=...`. Returns (server url, server folder, client folder)."""
    url, folder = server
    client_dir = tmp_path_factory.mktemp("client")
    env = subprocess_env() | {
        "MLFLOW_TRACKING_URI": url.replace("http://", f"http://bob:{URI_SECRET}@"),
        "MLFLOW_TRACKING_USERNAME": "bob",
        "MLFLOW_TRACKING_PASSWORD": ENV_SECRET,
    }
    places = [f"tracking.artifact_root={client_dir}/mlruns", f"paths.cache_dir={client_dir}/cache"]
    places.append(f"hydra.run.dir={client_dir}/out")
    result = subprocess.run(
        [sys.executable, "run.py", *JOB, f"+tracking.api_token={ENV_SECRET}", *places],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    assert result.returncode == 0, describe(result)
    for secret in (URI_SECRET, ENV_SECRET):  # the console's run link shows the URI redacted too
        assert secret not in result.stdout + result.stderr, describe(result)
    return url, folder, client_dir


def the_run(url: str):
    client = MlflowClient(tracking_uri=url)
    experiment = client.get_experiment_by_name("breast_cancer")
    runs = client.search_runs([experiment.experiment_id], filter_string="tags.dataset = 'breast_cancer'")
    assert len(runs) == 1, runs
    return client, experiment, runs[0]


@pytest.mark.slow
def test_artifacts_and_models_reach_the_server(remote_job):
    """The experiment uses the server's proxied artifact location; the run's config, evaluation and
    models land in the server's --artifacts-destination, and nothing in the client's mlruns/."""
    url, folder, client_dir = remote_job
    client, experiment, run = the_run(url)
    assert run.info.status == "FINISHED"
    assert experiment.artifact_location.startswith("mlflow-artifacts:"), experiment.artifact_location
    assert experiment.tags.get("mlflow.experimentKind") == "custom_model_development"

    stored = folder / "server_artifacts"
    run_files = stored / experiment.experiment_id / run.info.run_id / "artifacts"
    for name in ("config/resolved.yaml", "config/overrides.txt", "evaluation/classification_report.txt"):
        assert (run_files / name).is_file(), sorted(str(p.relative_to(stored)) for p in stored.rglob("*"))
    models = {path.parent.parent.name for path in stored.rglob("MLmodel")}
    logged = {model.model_id for model in client.search_logged_models([experiment.experiment_id])}
    assert len(logged) >= 2 and logged <= models, (logged, models)  # `model` and `keras_model`
    assert not (client_dir / "mlruns").exists() or not any((client_dir / "mlruns").rglob("*"))


@pytest.mark.slow
def test_credentials_never_reach_params_tags_or_artifacts(remote_job):
    """Neither the URI's password nor MLFLOW_TRACKING_PASSWORD is stored by the server: not in its
    database (params, tags, metrics, inputs) nor in any artifact file (resolved.yaml, overrides.txt,
    models); the params show the redacted values."""
    url, folder, _ = remote_job
    _, _, run = the_run(url)
    assert run.data.params["tracking.uri"] == url.replace("http://", "http://bob:***@")
    assert run.data.params["tracking.api_token"] == "***"
    for path in [folder / "server.db", *(folder / "server_artifacts").rglob("*")]:
        if path.is_file():
            content = path.read_bytes()
            for secret in (URI_SECRET, ENV_SECRET):
                assert secret.encode() not in content, f"{secret} in {path}"


def test_unreachable_server_fails_in_seconds(tmp_path):
    """use_experiment against a port nobody listens on: a one-line ConfigError naming tracking.uri
    within UNREACHABLE_LIMIT_S, with MLflow's retry settings left to our defaults (a fresh process)."""
    url = f"http://127.0.0.1:{free_port()}"
    script = (
        "import time\n"
        "from transferlab.tracking.store import use_experiment\n"
        "from transferlab.errors import ConfigError\n"
        "start = time.perf_counter()\n"
        "try:\n"
        f"    use_experiment({url!r}, 'unreachable', {str(tmp_path / 'mlruns')!r})\n"
        "except ConfigError as err:\n"
        "    print(f'{time.perf_counter() - start:.1f}'); print(err)\n"
    )
    env = {k: v for k, v in subprocess_env().items() if not k.startswith("MLFLOW_HTTP_REQUEST_")}
    result = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=300)
    lines = result.stdout.splitlines()
    assert len(lines) == 2, describe(result)  # the seconds, then the error
    seconds, message = lines
    assert message == f"tracking.uri={url}: no MLflow server answers (Connection refused); start one " + (
        "(mlflow server --host HOST --port PORT) or point tracking.uri (or MLFLOW_TRACKING_URI) at one"
    ), describe(result)
    assert float(seconds) < UNREACHABLE_LIMIT_S, seconds
    print(f"unreachable server: ConfigError after {seconds} s")
    assert not (tmp_path / "mlruns").exists()


@pytest.mark.slow
def test_unreachable_server_cli_exits_2_with_one_line(tmp_path):
    """`python run.py` with MLFLOW_TRACKING_URI (and a password in it) pointing at no server: exit 2,
    one `error:` line that hides the password, nothing written to the client's mlruns/."""
    url = f"http://127.0.0.1:{free_port()}"
    env = subprocess_env() | {"MLFLOW_TRACKING_URI": url.replace("http://", f"http://bob:{URI_SECRET}@")}
    start = time.perf_counter()
    result = subprocess.run(
        [
            sys.executable,
            "run.py",
            *JOB,
            f"tracking.artifact_root={tmp_path}/mlruns",
            f"paths.cache_dir={tmp_path}/cache",
        ]
        + [f"hydra.run.dir={tmp_path}/out"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=420,
    )
    seconds = time.perf_counter() - start
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    redacted = url.replace("http://", "http://bob:***@")
    assert result.returncode == 2, describe(result)
    assert lines == [
        f"error: tracking.uri={redacted}: no MLflow server answers (Connection refused); "
        + ("start one (mlflow server --host HOST --port PORT) or point tracking.uri (or MLFLOW_TRACKING_URI) at one")
    ], describe(result)
    assert URI_SECRET not in result.stdout + result.stderr
    assert not (tmp_path / "mlruns").exists()
    print(f"unreachable server: exit 2 after {seconds:.1f} s (Keras import included)")
