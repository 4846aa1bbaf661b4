"""12. Logged models: the pyfunc model takes raw CSV rows; a logged encoder transfers to a new run."""

import sys

import mlflow
import numpy as np
import pandas as pd
import pytest

from conftest import FAST, PIMA_CSV, child_runs, mlflow_client, parent_runs


def only_parent(tmp_path, **tags):
    [run] = [r for r in parent_runs(tmp_path) if all(r.data.tags.get(k) == v for k, v in tags.items())]
    assert run.info.status == "FINISHED"
    return run


def logged_model_names(tmp_path, run) -> set[str]:
    """Names of the models a run logged (MLflow 3 keeps them outside the run's artifact folder)."""
    models = mlflow_client(tmp_path).search_logged_models(
        [run.info.experiment_id], filter_string=f"source_run_id = '{run.info.run_id}'"
    )
    return {m.name for m in models}


@pytest.mark.slow
def test_logged_model_predicts_raw_rows(compose, run_job, tmp_path, monkeypatch):
    monkeypatch.setattr(sys, "path", list(sys.path))  # pyfunc loading prepends the logged code dir
    run_job(compose(*FAST, "dataset=pima", "explainer=none", "tracking.log_model=true"))
    run = only_parent(tmp_path, dataset="pima")
    run_id = run.info.run_id
    assert logged_model_names(tmp_path, run) == {"model", "keras_model"}  # an MLP has no encoder

    raw = pd.read_csv(PIMA_CSV).drop(columns="Outcome").head(10)
    predictions = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").predict(raw)
    assert isinstance(predictions, pd.DataFrame)
    assert list(predictions.columns) == ["probability_0", "probability_1", "prediction"]
    assert len(predictions) == 10
    assert np.allclose(predictions.probability_0 + predictions.probability_1, 1, atol=1e-6)
    assert predictions.probability_1.between(0, 1).all()
    expected = np.where(predictions.probability_1 > predictions.probability_0, "1", "0")
    assert list(predictions.prediction.astype(str)) == list(expected)

    network = mlflow.keras.load_model(f"runs:/{run_id}/keras_model")
    assert network.input_shape[-1] == 8 and network.output_shape[-1] == 1


@pytest.mark.slow
def test_frozen_from_source_run_skips_pretraining(compose, run_job, tmp_path):
    common = (*FAST, "dataset=pima", "model=autoencoder", "explainer=none")
    run_job(compose(*common, "strategy=scratch", "tracking.log_model=true"))
    source = only_parent(tmp_path, strategy="scratch")
    assert logged_model_names(tmp_path, source) == {"model", "keras_model", "encoder"}

    run_job(compose(*common, "strategy=frozen", f"strategy.source.run_id={source.info.run_id}"))
    frozen = only_parent(tmp_path, strategy="frozen")
    assert [c.data.tags["stage"] for c in child_runs(tmp_path, frozen)] == ["frozen"]
    assert frozen.data.metrics["trainable_params"] < frozen.data.metrics["total_params"]
    assert frozen.data.metrics["frozen_fraction"] > 0


def test_multimodal_model_predicts_raw_metadata_rows_with_their_images(compose, run_job, tmp_path, monkeypatch):
    """HAM10000 (metadata table + image): the pyfunc takes raw metadata rows with an `image` column of
    pixel arrays and gives the network's own probabilities, row for row."""
    from transferlab.data.loading import load_prepared
    from transferlab.evaluation.metrics import class_probabilities

    monkeypatch.setattr(sys, "path", list(sys.path))  # pyfunc loading prepends the logged code dir
    cfg = compose(
        *FAST,
        "dataset=ham10000",
        "model=fusion",
        "strategy=early_fusion",
        "strategy.branches=joint",
        "strategy.stages.fusion.epochs=1",
        "explainer=none",
        "tracking.log_model=true",
    )
    run_job(cfg)
    run = only_parent(tmp_path, dataset="ham10000")
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    assert [column.name for column in model.metadata.get_input_schema().inputs] == [
        "age",
        "sex",
        "localization",
        "image",
    ]

    data = load_prepared(cfg.dataset)  # the same split: same config, same seed
    rows = data.test.head(len(data.raw_examples))  # the raw example rows are the first test rows
    raw = data.raw_examples.assign(image=list(rows.inputs["image"].astype(np.uint8)))
    expected = class_probabilities(mlflow.keras.load_model(f"runs:/{run.info.run_id}/keras_model"), rows.inputs)
    predicted = model.predict(raw)
    assert list(predicted.columns) == [f"probability_{c}" for c in data.class_names] + ["prediction"]
    np.testing.assert_allclose(predicted.iloc[:, :-1].to_numpy(), expected, atol=1e-5)
    reversed_rows = model.predict(raw.iloc[::-1])  # each row keeps its own image
    np.testing.assert_allclose(reversed_rows.iloc[::-1, :-1].to_numpy(), predicted.iloc[:, :-1].to_numpy(), atol=1e-5)
