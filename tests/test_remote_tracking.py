"""A real `mlflow server` as the tracking store: artifacts and models reach the server, an
unreachable server fails in seconds with one line, and credentials never reach the run.

The server is started by the tests (its own SQLite store and --artifacts-destination in tmp), and
every job is a real `python run.py` in a subprocess.
"""

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import mlflow
import pytest
from conftest import CLI_TIMEOUT_S, REPO_ROOT, describe, free_port, subprocess_env
from mlflow import MlflowClient
from mlflow.entities import ViewType

URI_SECRET = "uri-Pa55w0rd"  # the password in MLFLOW_TRACKING_URI
ENV_SECRET = "env-T0ken-42"  # MLFLOW_TRACKING_PASSWORD, also given on the command line as a secret-named key
SWEEP_SECRET = "sweep-Pa55-77"  # MLFLOW_TRACKING_PASSWORD of the tracking=server sweep
JOB = ("dataset=breast_cancer", "trainer.epochs=2", "explainer=none")
# Retrying an unanswered request took 255 s with MLflow's defaults; the whole check must end well within this.
UNREACHABLE_LIMIT_S = 15


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
    line as `+hf_token=...` (under `tracking` a credential is refused: test_tracking_config_refuses).
    Returns (server url, server folder, client folder)."""
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
        [sys.executable, "run.py", *JOB, f"+hf_token={ENV_SECRET}", *places],
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
    assert run.data.params["hf_token"] == "***"
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


def run_py(*arguments: str, env: dict[str, str], folder) -> subprocess.CompletedProcess:
    """`python run.py ARGUMENTS` in the repo root, its Hydra outputs and caches in `folder`."""
    places = [f"paths.cache_dir={folder}/cache", f"hydra.run.dir={folder}/out", f"hydra.sweep.dir={folder}/multirun"]
    return subprocess.run(
        [sys.executable, "run.py", *arguments, *places],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )


def the_error_line(result: subprocess.CompletedProcess) -> str:
    """The one `error:` line a refused command prints, last (asserts exit code 2)."""
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith("error:")]
    assert result.returncode == 2 and errors == lines[-1:], describe(result)
    return errors[0]


SERVER_URI_RULE = (
    "tracking=server needs the http:// or https:// URI of an MLflow tracking server; "
    "set tracking.uri=http://HOST:PORT or MLFLOW_TRACKING_URI"
)
CREDENTIALS_RULE = (
    "credentials are not read from the config; "
    "set MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"
)


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        pytest.param(["tracking=server"], f"tracking.uri=null: {SERVER_URI_RULE}", id="server-without-uri"),
        pytest.param(
            ["tracking=server", "tracking.uri=sqlite:///{tmp}/mlflow.db"],
            f"tracking.uri=sqlite:///{{tmp}}/mlflow.db: {SERVER_URI_RULE}",
            id="server-with-sqlite-uri",
        ),
        pytest.param(
            ["tracking=server", "tracking.uri=http://127.0.0.1:9", "tracking.artifact_root={tmp}/mlruns"],
            "tracking.artifact_root={tmp}/mlruns: must be null with tracking=server: the server keeps the "
            "artifacts (--artifacts-destination)",
            id="server-with-local-artifacts",
        ),
        pytest.param(
            [f"+tracking.password={SWEEP_SECRET}"], f"tracking.password=***: {CREDENTIALS_RULE}", id="added-password"
        ),
        pytest.param(
            ["tracking=server", f"tracking.token={SWEEP_SECRET}"],
            f"tracking.token=***: {CREDENTIALS_RULE}",
            id="token-override",
        ),
        pytest.param(
            ["tracking.system_metrics=maybe"], "tracking.system_metrics=maybe: must be true or false", id="metrics-flag"
        ),
        pytest.param(
            ["tracking.system_metrics=true", "tracking.system_metrics_interval_s=0"],
            "tracking.system_metrics_interval_s=0: must be a positive number",
            id="metrics-interval",
        ),
    ],
)
def test_tracking_config_refuses(tmp_path, overrides, expected):
    """Bad tracking settings, before anything is loaded: exit 2, one `error:` line naming key, value
    and what is allowed (a credential's value masked), no store opened, so no run."""
    overrides = [override.format(tmp=tmp_path) for override in overrides]
    env = subprocess_env() | {"MLFLOW_TRACKING_URI": f"sqlite:///{tmp_path}/mlflow.db"}  # tracking=mlflow's store
    if "tracking=server" in overrides:
        env.pop("MLFLOW_TRACKING_URI")  # tracking=server takes its URI from there too
    result = run_py(*JOB, *overrides, env=env, folder=tmp_path)
    assert result.returncode == 2, describe(result)
    assert result.stderr.strip() == "error: " + expected.format(tmp=tmp_path), describe(result)  # the only line
    assert SWEEP_SECRET not in result.stdout + result.stderr
    assert not (tmp_path / "mlflow.db").exists()


def all_server_runs(client: MlflowClient, experiment_id: str) -> list:
    return client.search_runs([experiment_id], run_view_type=ViewType.ALL, max_results=1000)


def downloaded_files(client: MlflowClient, run_id: str, folder) -> list:
    """Every artifact file of the run, downloaded from the server into `folder`."""
    return [path for path in Path(client.download_artifacts(run_id, "", str(folder))).rglob("*") if path.is_file()]


@pytest.mark.slow
def test_server_sweep_logs_over_http_only(server, tmp_path):
    """A 2-job sweep as a user runs it against a tracking server (`tracking=server
    tracking.uri=http://...`, MLFLOW_TRACKING_USERNAME/PASSWORD set, the password also pulled into
    a secret-named key with ${oc.env:...}): both job runs FINISHED with metrics; their figures and
    models come back over HTTP from the server's artifact proxy; the password is in no param, tag or
    artifact of any run or model; nothing is written locally."""
    url, _ = server
    env = subprocess_env() | {"MLFLOW_TRACKING_USERNAME": "bob", "MLFLOW_TRACKING_PASSWORD": SWEEP_SECRET}
    env.pop("MLFLOW_TRACKING_URI", None)
    sweep = ["-m", "tracking=server", f"tracking.uri={url}", "tracking.experiment=server_sweep", "trainer.seed=0,1"]
    sweep.append("+hf_token=${oc.env:MLFLOW_TRACKING_PASSWORD}")
    result = run_py(*sweep, *JOB, env=env, folder=tmp_path)
    assert result.returncode == 0, describe(result)
    assert SWEEP_SECRET not in result.stdout + result.stderr

    client = MlflowClient(tracking_uri=url)
    experiment = client.get_experiment_by_name("server_sweep")
    runs = all_server_runs(client, experiment.experiment_id)
    jobs = [run for run in runs if "mlflow.parentRunId" not in run.data.tags]
    assert sorted(run.data.params["trainer.seed"] for run in jobs) == ["0", "1"]
    assert {run.info.status for run in runs} == {"FINISHED"}
    assert all("test_roc_auc" in run.data.metrics for run in jobs)
    assert {run.data.params["hf_token"] for run in jobs} == {"***"}

    files = []
    for run in runs:
        files += downloaded_files(client, run.info.run_id, tmp_path / "downloaded" / run.info.run_id)
        for value in [*run.data.params.values(), *run.data.tags.values()]:
            assert SWEEP_SECRET not in value, run.info.run_id
    names = {path.relative_to(tmp_path / "downloaded").as_posix().split("/", 1)[1] for path in files}
    assert {"config/resolved.yaml", "evaluation/roc_pr_curves.png", "training_curves/train.png"} <= names, sorted(names)
    models = client.search_logged_models([experiment.experiment_id])
    assert {model.source_run_id for model in models} == {run.info.run_id for run in jobs}
    for model in models:
        assert model.artifact_location.startswith("mlflow-artifacts:"), model.artifact_location
        location = model.artifact_location.removeprefix("mlflow-artifacts:").lstrip("/")
        with urllib.request.urlopen(f"{url}/api/2.0/mlflow-artifacts/artifacts/{location}/MLmodel") as answer:
            assert b"flavors:" in answer.read()
        folder = mlflow.artifacts.download_artifacts(
            artifact_uri=model.artifact_location, dst_path=str(tmp_path / "models" / model.model_id), tracking_uri=url
        )
        files += [path for path in Path(folder).rglob("*") if path.is_file()]
    for path in files:
        assert SWEEP_SECRET.encode() not in path.read_bytes(), path
    assert not list(tmp_path.rglob("mlruns")), "tracking=server keeps no local artifacts"


@pytest.mark.slow
def test_server_experiment_with_local_artifacts_is_refused(server, tmp_path):
    """An experiment the server keeps artifacts of on its own disk (created with a plain folder as
    artifact location), under tracking=server: exit 2, one line naming it, no run in it."""
    url, folder = server
    client = MlflowClient(tracking_uri=url)
    experiment_id = client.create_experiment("local_artifacts", artifact_location=str(folder / "local_artifacts"))
    env = subprocess_env()
    env.pop("MLFLOW_TRACKING_URI", None)
    result = run_py(
        *JOB, "tracking=server", f"tracking.uri={url}", "tracking.experiment=local_artifacts", env=env, folder=tmp_path
    )
    line = the_error_line(result)
    assert line.startswith("error: tracking.experiment=local_artifacts: keeps its artifacts at "), line
    assert line.endswith(
        "which the server does not proxy; with tracking=server name a new experiment on a server "
        + ("that serves artifacts (mlflow server --artifacts-destination ...)")
    ), line
    assert all_server_runs(client, experiment_id) == []
