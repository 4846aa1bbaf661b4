"""11. Bad input fails fast: exit code 2, one `error: key=value: ...` line, no run left behind.
And a job that crashes mid-training leaves FAILED runs with the error attached.

One `python run.py` per exit path (here: exit 2); every other bad input is checked in-process
(conftest.rejection: the CLI's option check, then the job until its ConfigError)."""

import sys

import pytest

from conftest import (
    FAST,
    all_runs,
    artifact_paths,
    child_runs,
    compose_config,
    describe,
    last_line,
    mlflow_client,
    parent_runs,
    rejection,
    store_uri,
)


def write_csv(path, text: str) -> str:
    path.write_text(text)
    return str(path)


def two_class_rows(n: int = 40) -> str:
    return "".join(f"{i % 7},{(i * 3) % 11 / 10},{i % 2}\n" for i in range(n))


CSV_CASES = {
    # name: (CSV text or None for no file, target, expected key, expected bad value in the message)
    "missing_file": (None, "y", "dataset.loader.path", "/nonexistent.csv"),
    "missing_target": ("a,b,label\n" + two_class_rows(), "y", "dataset.loader.target", "y"),
    "single_class": ("a,b,y\n" + "".join(f"{i},{i / 2},1\n" for i in range(40)), "y", "dataset.loader.target", "y"),
    "non_numeric": (
        "a,b,y\n" + two_class_rows(20) + "3,oops,1\n" + two_class_rows(20),
        "y",
        "dataset.loader.path",
        "oops",
    ),
}


def assert_rejected(result, tmp_path, key: str, value: str):
    """Exit 2; the last stderr line is `error: <key>=...` and names the bad value; no MLflow run."""
    line = last_line(result.stderr)
    assert result.returncode == 2, describe(result)
    assert line.startswith(f"error: {key}="), describe(result)
    assert value in line, line
    assert [r.info.status for r in all_runs(tmp_path)] == [], "a rejected job must not start a run"


@pytest.mark.parametrize(
    ("overrides", "key", "value"),
    [
        pytest.param(["model=nope"], "model", "nope", id="unknown-model"),
        pytest.param(["model=mlp,nope"], "model", "nope", id="unknown-model-in-sweep"),
        pytest.param(["explainer=[permutation,nope]"], "explainer", "nope", id="unknown-explainer-in-list"),
        pytest.param(["++explainer.permutaton.n_repeats=3"], "explainer", "permutaton", id="settings-for-no-explainer"),
        pytest.param(["trainer.learning_rate=-1"], "trainer.learning_rate", "-1", id="negative-lr"),
        pytest.param(["trainer.learning_rate=0"], "trainer.learning_rate", "0", id="zero-lr"),
        pytest.param(["trainer.epochs=0"], "trainer.epochs", "0", id="zero-epochs"),
        pytest.param(["trainer.batch_size=-4"], "trainer.batch_size", "-4", id="negative-batch"),
        pytest.param(
            ["trainer.steps_per_execution=0"], "trainer.steps_per_execution", "0", id="zero-steps-per-execution"
        ),
        pytest.param(["trainer.jit_compile=sometimes"], "trainer.jit_compile", "sometimes", id="jit-compile"),
        pytest.param(["trainer.feed=stream"], "trainer.feed", "stream", id="feed"),
        pytest.param(
            ["trainer.compilation_cache_dir=5"], "trainer.compilation_cache_dir", "5", id="compilation-cache-not-a-path"
        ),
        pytest.param(["dataset.split.test_size=1.5"], "dataset.split.test_size", "1.5", id="test-size"),
        pytest.param(["strategy=frozen", "model=mlp"], "strategy", "frozen", id="frozen-without-encoder"),
        pytest.param(
            ["strategy=frozen", "strategy.source.run_id=0123456789abcdef"],
            "strategy.source.run_id",
            "0123456789abcdef",
            id="unknown-source-run",
        ),
    ],
)
def test_bad_config_is_rejected(tmp_path, overrides, key, value):
    line = rejection(tmp_path, *FAST, *overrides)  # the bad value last: later overrides win
    assert line.startswith(f"error: {key}={value}:"), line


def test_the_cli_prints_the_error_line_and_exits_2_before_hydra(tmp_path, monkeypatch, capsys):
    """An option that does not exist is refused by main() itself, before Hydra composes anything."""
    from transferlab.cli import main

    monkeypatch.setattr(sys, "argv", ["run.py", *FAST, "model=nope"])
    with pytest.raises(SystemExit) as caught:
        main()
    assert caught.value.code == 2
    assert capsys.readouterr().err.startswith("error: model=nope: not an option; choose one of autoencoder, ")


def test_the_cli_rejects_bad_input_with_exit_2_one_line_and_no_run(run_cli, tmp_path):
    """The one `python run.py` of the exit-2 path: a ConfigError raised deep in the job (inside
    Hydra's instantiate of the loader) reaches stderr as one line; nothing is logged."""
    text, target, key, value = CSV_CASES["non_numeric"]
    path = write_csv(tmp_path / "non_numeric.csv", text)
    result = run_cli(*FAST, "dataset=csv", f"dataset.loader.path={path}", f"dataset.loader.target={target}")
    assert_rejected(result, tmp_path, key, value)
    assert [line for line in result.stderr.splitlines() if line.startswith("error:")] == [last_line(result.stderr)]


def test_a_strategy_option_is_refused_before_the_tracking_store_is_opened(tmp_path):
    from transferlab.cli import find_config_error
    from transferlab.pipeline import run_job

    cfg = compose_config("strategy=lora", "strategy.rank=0", f"tracking.uri={store_uri(tmp_path)}")
    with pytest.raises(Exception) as caught:  # a ConfigError, wrapped by Hydra's instantiate
        run_job(cfg)
    assert str(find_config_error(caught.value)) == "strategy.rank=0: must be a positive integer"
    assert not (tmp_path / "mlflow.db").exists()


def test_unusable_compilation_cache_dir_is_rejected_on_jax(tmp_path, monkeypatch):
    import keras

    from transferlab.errors import ConfigError
    from transferlab.runtime import use_compilation_cache

    blocker = tmp_path / "a_file"
    blocker.write_text("")
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")  # the check runs before JAX's config is touched
    with pytest.raises(ConfigError) as caught:
        use_compilation_cache(f"{blocker}/jax")
    assert str(caught.value).startswith(
        f"trainer.compilation_cache_dir={blocker}/jax: cannot create it (Not a directory)"
    )


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_bad_csv_is_rejected(tmp_path, case):
    text, target, key, value = CSV_CASES[case]
    path = "/nonexistent.csv" if text is None else write_csv(tmp_path / f"{case}.csv", text)
    line = rejection(tmp_path, *FAST, "dataset=csv", f"dataset.loader.path={path}", f"dataset.loader.target={target}")
    assert line.startswith(f"error: {key}=") and value in line, line


def test_crash_mid_training_marks_runs_failed(compose, run_job, tmp_path, monkeypatch):
    import transferlab.training

    def crash(self, epoch, logs=None):
        raise RuntimeError("boom in epoch end")

    monkeypatch.setattr(transferlab.training.EpochMetricsLogger, "on_epoch_end", crash)
    with pytest.raises(RuntimeError, match="boom in epoch end"):
        run_job(compose(*FAST, "explainer=none"))

    [parent] = parent_runs(tmp_path)
    [stage] = child_runs(tmp_path, parent)
    client = mlflow_client(tmp_path)
    for run in (parent, stage):
        assert run.info.status == "FAILED", run.info.run_name
        assert "boom in epoch end" in run.data.tags["error"]
        assert "error.txt" in artifact_paths(client, run.info.run_id)
    assert stage.data.tags["stage"] == "train"
    assert "RuntimeError" in open(client.download_artifacts(parent.info.run_id, "error.txt", str(tmp_path))).read()
    assert [r for r in all_runs(tmp_path) if r.info.status == "RUNNING"] == []


@pytest.mark.parametrize("case", list(CSV_CASES))
def test_csv_loader_raises_config_error(tmp_path, case):
    """The loader itself names key and value (the CLI must pass this message through)."""
    from transferlab.data.csv_table import load_csv
    from transferlab.errors import ConfigError

    text, target, key, value = CSV_CASES[case]
    path = "/nonexistent.csv" if text is None else write_csv(tmp_path / f"{case}.csv", text)
    with pytest.raises(ConfigError) as caught:
        load_csv(path, target)
    assert caught.value.key == key and value in str(caught.value)


def higgs_rows(n: int = 50, columns: int = 29, bad_line: str | None = None) -> str:
    """UCI-layout rows (label first); `bad_line` replaces line 10."""
    lines = [",".join([str(i % 2)] + [f"{(i * j) % 7 / 3:.18e}" for j in range(1, columns)]) for i in range(n)]
    if bad_line is not None:
        lines[9] = bad_line
    return "\n".join(lines) + "\n"


GOOD_FEATURES = ",".join(["0.5"] * 28)
HIGGS_FILE_CASES = {
    # name: (file text, expected text in the message)
    "thirty_columns": (higgs_rows(columns=30), "line 1 has 30 columns, expected 29"),
    "non_numeric": (
        higgs_rows(bad_line="1," + GOOD_FEATURES.replace("0.5", "abc", 1)),
        "line 10, column 1: not a number ('abc')",
    ),
    "label_not_0_1": (higgs_rows(bad_line="2," + GOOD_FEATURES), "line 10, label column 0: value 2, expected 0 or 1"),
}
HIGGS_ON_SAMPLE = (
    "dataset=higgs",
    "dataset.loader.filename=HIGGS_subset_uci.csv.gz",
    "dataset.loader.url=null",
    "dataset.split.n_train=2000",
    "dataset.split.n_test=2000",
    "model=resnet_mlp",
    "explainer=none",
)


@pytest.mark.parametrize("case", list(HIGGS_FILE_CASES))
def test_bad_higgs_file_is_rejected_and_never_cached(tmp_path, case):
    text, expected = HIGGS_FILE_CASES[case]
    path = write_csv(tmp_path / "HIGGS.csv", text)
    line = rejection(
        tmp_path,
        *FAST,
        "dataset=higgs",
        f"dataset.loader.path={path}",
        "dataset.split.n_train=20",
        "dataset.split.n_test=20",
        "model=resnet_mlp",
    )
    assert line == f"error: dataset.loader.path={path}: {expected}"
    assert list((tmp_path / "cache").rglob("*.npy")) == [], "nothing a later run could trust"


@pytest.mark.parametrize(
    ("overrides", "key", "value", "expected"),
    [
        pytest.param(
            ["dataset.split.n_train=12000", "dataset.split.n_test=5000"],
            "dataset.split.n_train",
            "12000",
            "n_train + n_test = 12000 + 5000 = 17000 exceeds the 8000 rows of HIGGS_subset_uci.csv.gz",
            id="split-too-big",
        ),
        pytest.param(
            ["strategy=lora", "strategy.rank=0"], "strategy.rank", "0", "must be a positive integer", id="lora-rank-0"
        ),
        pytest.param(
            ["strategy=lora", "strategy.rank=29"],
            "strategy.rank",
            "29",
            "must be an integer from 1 to 28, the smaller dimension of layer dense_in: 28->128",
            id="lora-rank-29",
        ),
        pytest.param(
            ["strategy=lora", "strategy.source.pretrain=false"],
            "strategy.source",
            "none",
            "strategy=lora needs a base model",
            id="lora-without-base",
        ),
    ],
)
def test_bad_higgs_settings_are_rejected(tmp_path, overrides, key, value, expected):
    line = rejection(tmp_path, *FAST, *HIGGS_ON_SAMPLE, *overrides)
    assert line.startswith(f"error: {key}={value}: {expected}"), line
