"""A model of two named inputs, added outside the package (tests/extension), trains through
strategies scratch, frozen and finetune from run.py, logs a model that predicts from raw rows, and
the single-input explainers refuse it in check with one line."""

import os
import subprocess
import sys

import mlflow
import pandas as pd
import pytest

from conftest import PIMA_CSV, REPO_ROOT, child_runs, describe, parent_runs, rejection, store_overrides, subprocess_env

EXTENSION = REPO_ROOT / "tests" / "extension"
TWO_INPUTS = (
    "dataset=pima",
    "dataset.inputs={vitals:[Glucose,BloodPressure,BMI,SkinThickness,Insulin],"
    "history:[Pregnancies,Age,DiabetesPedigreeFunction]}",
    "model=two_tower",
    f"hydra.searchpath=[file://{EXTENSION / 'conf'}]",
)


@pytest.fixture
def extension_on_path(monkeypatch):
    """The extension folder importable, in this process and in subprocesses."""
    monkeypatch.syspath_prepend(str(EXTENSION))
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(EXTENSION), os.environ.get("PYTHONPATH")])))


@pytest.mark.slow
def test_two_input_model_trains_through_scratch_frozen_and_finetune(tmp_path, extension_on_path):
    command = [
        sys.executable,
        "run.py",
        "-m",
        *TWO_INPUTS,
        "strategy=scratch,frozen,finetune",
        "explainer=none",
        "trainer.epochs=2",
        "++strategy.stages.pretrain.epochs=2",
        *store_overrides(tmp_path),
    ]
    env = subprocess_env(tmp=tmp_path) | {"PYTHONPATH": os.environ["PYTHONPATH"]}
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, describe(result)

    runs = {run.data.tags["strategy"]: run for run in parent_runs(tmp_path)}
    assert set(runs) == {"scratch", "frozen", "finetune"}
    assert all(run.info.status == "FINISHED" and run.data.tags["model"] == "two_tower" for run in runs.values())
    stages = {
        name: sorted(child.data.tags["stage"] for child in child_runs(tmp_path, run)) for name, run in runs.items()
    }
    assert stages == {
        "scratch": ["train"],
        "frozen": ["frozen", "pretrain"],
        "finetune": ["finetune", "pretrain"],
    }  # a supervised base is fine-tuned whole
    assert runs["frozen"].data.metrics["trainable_params"] < runs["frozen"].data.metrics["total_params"]

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    raw = pd.read_csv(PIMA_CSV).drop(columns="Outcome").head(6)
    predictions = mlflow.pyfunc.load_model(f"runs:/{runs['finetune'].info.run_id}/model").predict(raw)
    assert list(predictions.columns) == ["probability_0", "probability_1", "prediction"] and len(predictions) == 6
    network = mlflow.keras.load_model(f"runs:/{runs['finetune'].info.run_id}/keras_model")
    assert {tensor.name: tuple(tensor.shape[1:]) for tensor in network.inputs} == {"vitals": (5,), "history": (3,)}


@pytest.mark.parametrize(
    ("explainer", "expected"),
    [
        (
            "permutation",
            "error: explainer.permutation.input=null: choose the input to explain, one of: "
            "vitals (table, 5), history (table, 3)",
        ),
        (
            "gradcam",
            "error: explainer=gradcam: works on images; for tables choose permutation, integrated_gradients or shap",
        ),
    ],
)
def test_single_input_explainers_refuse_two_inputs_in_check(tmp_path, extension_on_path, explainer, expected):
    assert rejection(tmp_path, *TWO_INPUTS, f"explainer={explainer}") == expected


def test_a_single_input_model_refuses_two_inputs(tmp_path):
    assert rejection(tmp_path, *TWO_INPUTS[:2], "model=mlp") == (
        "error: model=mlp: takes one table input, the dataset has 2: vitals (table, 5), history (table, 3); "
        "choose a model with one branch per input"
    )


@pytest.mark.slow
def test_a_two_input_run_logs_modality_and_shap_of_a_chosen_input(tmp_path, extension_on_path, compose, run_job):
    from conftest import FAST, artifact_paths, mlflow_client

    run_job(
        compose(
            *TWO_INPUTS,
            *FAST,
            "explainer=[modality,shap]",
            "explainer.shap.input=history",
            "explainer.shap.max_rows=5",
            "explainer.modality.n_repeats=2",
        )
    )
    (run,) = parent_runs(tmp_path)
    metrics = run.data.metrics
    assert {"test_macro_f1", "val_macro_f1", "zeror_test_macro_f1", "zeror_test_accuracy"} <= set(metrics)
    assert {
        f"modality_{name}_{kind}" for name in ("vitals", "history") for kind in ("macro_f1_drop", "ig_share")
    } <= set(metrics)
    assert metrics["modality_vitals_ig_share"] + metrics["modality_history_ig_share"] == pytest.approx(1.0)
    artifacts = artifact_paths(mlflow_client(tmp_path), run.info.run_id)
    assert {"explanations/modality/modality.csv", "explanations/modality/modality.png"} <= artifacts
    shap_table = mlflow_client(tmp_path).download_artifacts(
        run.info.run_id, "explanations/shap/shap.csv", str(tmp_path)
    )
    assert set(pd.read_csv(shap_table).feature) == {"Pregnancies", "Age", "DiabetesPedigreeFunction"}
