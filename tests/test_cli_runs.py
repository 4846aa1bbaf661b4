"""2-6. `python run.py ...` end to end, checked through MLflow: single jobs, sweeps, the Pima study."""

import re

import pandas as pd
import pytest
from conftest import FAST, THRESHOLD_COLUMNS, all_runs, artifact_paths, child_runs, describe, mlflow_client, parent_runs

TEST_METRICS = [
    "test_accuracy",
    "test_precision",
    "test_recall",
    "test_f1",
    "test_balanced_accuracy",
    "test_roc_auc",
    "test_pr_auc",
    "test_log_loss",
    "test_f2",
    "test_f5",
    "threshold_f2",
    "oracle_test_f2",
    "trainable_params",
    "total_params",
    "train_seconds",
]


def assert_nothing_running(tmp_path):
    assert [r.info.run_name for r in all_runs(tmp_path) if r.info.status == "RUNNING"] == []


def test_default_job_end_to_end(run_cli, tmp_path):
    result = run_cli(*FAST)
    assert result.returncode == 0, describe(result)

    parents = parent_runs(tmp_path)
    assert len(parents) == 1
    run = parents[0]
    assert run.info.status == "FINISHED"
    tags, params, metrics = run.data.tags, run.data.params, run.data.metrics
    assert {k: tags[k] for k in ("dataset", "model", "strategy", "explainer")} == {
        "dataset": "breast_cancer",
        "model": "mlp",
        "strategy": "scratch",
        "explainer": "auto",
    }
    assert tags["explainer.auto"] == "permutation"  # what the default explainer picked for a table
    assert re.fullmatch(r"[0-9a-f]{40}", tags["mlflow.source.git.commit"]) and tags["git_dirty"] in ("true", "false")
    assert re.fullmatch(r"[0-9a-f]{64}", tags["data_fingerprint"])
    assert tags["backend"] == "tensorflow"
    assert params["trainer.learning_rate"] == "0.001" and params["trainer.epochs"] == "2"

    missing = [m for m in TEST_METRICS if m not in metrics]
    assert not missing, f"metrics not logged: {missing}"
    assert all(0 <= metrics[m] <= 1 for m in TEST_METRICS if m.startswith("test_") and m != "test_log_loss")
    assert 0.1 <= metrics["threshold_f2"] <= 0.9
    assert metrics["oracle_test_f2"] >= metrics["test_f2"]  # the test-optimal threshold is never worse on test
    assert metrics["trainable_params"] == metrics["total_params"] > 0

    # One child run per training stage, with per-epoch curves.
    children = child_runs(tmp_path, run)
    assert [c.data.tags.get("stage") for c in children] == ["train"]
    assert children[0].info.status == "FINISHED"
    client = mlflow_client(tmp_path)
    epochs = int(children[0].data.metrics["epochs_trained"])
    assert epochs == 2
    for name in ("val_loss", "train_loss"):
        history = client.get_metric_history(children[0].info.run_id, name)
        assert sorted(m.step for m in history) == list(range(epochs)), name

    artifacts = artifact_paths(client, run.info.run_id)
    expected = {
        "config/resolved.yaml",
        "config/overrides.txt",
        "evaluation/confusion_matrix.png",
        "evaluation/roc_pr_curves.png",
        "evaluation/classification_report.txt",
        "evaluation/threshold_table.csv",
        "explanations/auto/auto.csv",
        "explanations/auto/importance.png",
    }
    assert expected <= artifacts, f"missing: {expected - artifacts}"

    folder = client.download_artifacts(run.info.run_id, "", str(tmp_path / "downloaded"))
    table = pd.read_csv(f"{folder}/evaluation/threshold_table.csv")
    assert list(table.columns) == THRESHOLD_COLUMNS and list(table.beta) == [1, 2, 5]
    assert table.loc[table.beta == 2, "threshold"].item() == metrics["threshold_f2"]
    overrides = open(f"{folder}/config/overrides.txt").read().splitlines()
    assert "trainer.epochs=2" in overrides
    assert "epochs: 2" in open(f"{folder}/config/resolved.yaml").read()
    importance = pd.read_csv(f"{folder}/explanations/auto/auto.csv")
    assert len(importance) == 30 and {"feature", "importance_mean", "importance_std"} <= set(importance.columns)


@pytest.mark.slow
def test_default_job_on_jax_and_its_repeat_from_the_compilation_cache(run_cli, tmp_path):
    """The repeat loads every compiled step from trainer.compilation_cache_dir (it adds no entry)
    and gives the same metrics."""
    cache = tmp_path / "cache" / "jax_compilation"  # the default, under paths.cache_dir
    entries = []
    for _ in range(2):
        result = run_cli(*FAST, backend="jax")
        assert result.returncode == 0, describe(result)
        entries.append(sorted(path.name for path in cache.glob("*-cache")))
    assert len(entries[0]) > 5 and entries[1] == entries[0]
    first, repeat = sorted(parent_runs(tmp_path), key=lambda r: r.info.start_time)
    assert first.info.status == repeat.info.status == "FINISHED"
    assert first.data.tags["backend"] == "jax"
    assert "test_roc_auc" in first.data.metrics
    assert {k: v for k, v in first.data.metrics.items() if k.startswith(("test_", "val_"))} == {
        k: v for k, v in repeat.data.metrics.items() if k.startswith(("test_", "val_"))
    }
    assert_nothing_running(tmp_path)


@pytest.mark.slow
def test_settings_of_an_unselected_explainer_are_ignored(compose, run_job, tmp_path, capsys):
    """`experiment=higgs_lora explainer=none`: the study tunes permutation importance, the user
    turns explanations off; the run trains and evaluates without them and says so."""
    run_job(compose(*FAST, "explainer=none", "++explainer.permutation.n_repeats=3"))
    assert (
        "note: explainer.permutation: settings ignored, permutation is not among the selected explainers (none)"
        in capsys.readouterr().err
    )
    [run] = parent_runs(tmp_path)
    assert run.info.status == "FINISHED" and run.data.tags["explainer"] == "none"
    assert not any(path.startswith("explanations") for path in artifact_paths(mlflow_client(tmp_path), run.info.run_id))


@pytest.mark.slow
def test_joblib_multirun(run_cli, tmp_path):
    result = run_cli(
        "-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.seed=1,2", *FAST, "explainer=none"
    )
    assert result.returncode == 0, describe(result)
    parents = parent_runs(tmp_path)
    assert len(parents) == 2
    assert {r.info.status for r in parents} == {"FINISHED"}
    assert sorted(r.data.tags["hydra_job_num"] for r in parents) == ["0", "1"]
    assert {r.data.tags["sweep_dir"] for r in parents} == {str(tmp_path / "multirun")}
    assert sorted(r.data.params["trainer.seed"] for r in parents) == ["1", "2"]
    assert_nothing_running(tmp_path)


@pytest.mark.slow
def test_optuna_search(run_cli, tmp_path):
    result = run_cli("hparams_search=optuna", "hydra.sweeper.n_trials=2", *FAST, "explainer=none")
    assert result.returncode == 0, describe(result)
    parents = parent_runs(tmp_path)
    assert len(parents) == 2
    assert {r.info.status for r in parents} == {"FINISHED"}
    for run in parents:
        assert 1e-4 <= float(run.data.params["trainer.learning_rate"]) <= 1e-2
        assert run.data.params["trainer.batch_size"] in ("16", "32", "64")
        assert "val_roc_auc" in run.data.metrics  # the objective the sweeper optimises
    assert (tmp_path / "multirun" / "optimization_results.yaml").is_file()
    assert_nothing_running(tmp_path)


@pytest.mark.slow
def test_pima_study_shrunken(run_cli, tmp_path):
    # CLI values replace the preset's sweep values: 3 arms x 1 seed. `++` because the
    # mlp_scratch arm's strategy has no pretrain stage to override.
    result = run_cli("experiment=pima_transfer", "trainer.seed=1", "++strategy.stages.pretrain.epochs=2", *FAST)
    assert result.returncode == 0, describe(result)

    parents = {r.data.tags["arm"]: r for r in parent_runs(tmp_path)}
    assert sorted(parents) == ["autoencoder_finetune", "autoencoder_frozen", "mlp_scratch"]
    for arm, run in parents.items():
        assert run.info.status == "FINISHED", arm
        assert run.data.tags["study"] == "pima_transfer" and run.data.tags["dataset"] == "pima"
        assert run.data.params["trainer.seed"] == "1"

    def stages(arm):
        return sorted(c.data.tags["stage"] for c in child_runs(tmp_path, parents[arm]))

    assert stages("mlp_scratch") == ["train"]
    assert stages("autoencoder_frozen") == ["frozen", "pretrain"]
    assert stages("autoencoder_finetune") == ["finetune", "frozen", "pretrain"]
    for child in child_runs(tmp_path, parents["autoencoder_finetune"]):
        assert child.info.status == "FINISHED"
        assert child.data.params["stage.epochs"] == "2", child.data.tags["stage"]
    finetune_lr = {
        c.data.tags["stage"]: c.data.params["stage.learning_rate"]
        for c in child_runs(tmp_path, parents["autoencoder_finetune"])
    }["finetune"]
    assert float(finetune_lr) == 1e-4

    client = mlflow_client(tmp_path)
    for arm, run in parents.items():
        artifacts = artifact_paths(client, run.info.run_id)
        assert {
            "explanations/permutation/permutation.csv",
            "explanations/integrated_gradients/integrated_gradients.csv",
        } <= artifacts, arm
        assert run.data.metrics["ig_completeness_gap_max"] < 0.01, arm
    assert_nothing_running(tmp_path)
