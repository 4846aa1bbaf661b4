"""12. Logged models: the pyfunc model takes raw CSV rows; a logged encoder transfers to a new run."""

import sys

import mlflow
import numpy as np
import pandas as pd
import pytest
from mlflow.exceptions import MlflowException

from conftest import FAST, PIMA_CSV, child_runs, compose_config, mlflow_client, parent_runs, store_uri


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


@pytest.mark.slow
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


# --- the logged pyfunc under hostile input (one tiny real Pima run, its model loaded through MLflow) ---


@pytest.fixture(scope="module")
def pima_model(tmp_path_factory):
    """(run, pyfunc) of one 2-epoch Pima job that logged its models (about 10 s, shared by the tests below)."""
    from transferlab.pipeline import run_job

    tmp = tmp_path_factory.mktemp("pima_model")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sys, "path", list(sys.path))  # pyfunc loading prepends the logged code dir
        run_job(
            compose_config(
                *FAST,
                "dataset=pima",
                "explainer=none",
                "tracking.log_model=true",
                f"tracking.uri={store_uri(tmp)}",
                f"tracking.artifact_root={tmp}/mlruns",
                f"paths.cache_dir={tmp}/cache",
            )
        )
        [run] = parent_runs(tmp)
        yield run, mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")  # run_job left its store current


def pima_rows(n: int = 6) -> pd.DataFrame:
    return pd.read_csv(PIMA_CSV).drop(columns="Outcome").head(n)


def test_logged_model_takes_whole_numbers_in_decimal_columns_and_nan_in_integer_ones(pima_model):
    """MLflow's schema check refused int64 for a double column: BMI 33 (a Python int) now predicts,
    as 33.0 does; NaN in an integer column is a missing value the model's preprocessing imputes."""
    _, model = pima_model
    decimals = pima_rows().assign(BMI=lambda rows: rows.BMI.round(), DiabetesPedigreeFunction=1.0)
    whole = decimals.assign(BMI=[int(v) for v in decimals.BMI], DiabetesPedigreeFunction=1)
    assert whole.BMI.dtype == whole.DiabetesPedigreeFunction.dtype == "int64"
    pd.testing.assert_frame_equal(model.predict(whole), model.predict(decimals))

    missing = model.predict(pima_rows().assign(Glucose=[np.nan, 1, 2, 3, 4, 5]))
    assert np.isfinite(missing.iloc[:, :2].to_numpy()).all() and set(missing.prediction) <= {"0", "1"}
    types = {column.name: str(column.type) for column in model.metadata.get_input_schema().inputs}
    assert types["BMI"] == types["Pregnancies"] == "Any"


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        ("Glucose", np.inf, "column 'Glucose', row 2: inf is not a number the model takes; allowed: finite numbers"),
        ("BMI", -1e308, "column 'BMI', row 2: -1e+308 is not a number the model takes; allowed: finite numbers"),
        # within float32's range raw, beyond it once scaled (the column's training std is about 0.33)
        (
            "DiabetesPedigreeFunction",
            3e38,
            "feature 'DiabetesPedigreeFunction' of input 'features', row 2: not a finite number after the model's "
            "preprocessing",
        ),
        ("Age", "forty", "column 'Age', row 2: 'forty' is not a number"),
    ],
    ids=["inf", "overflow", "overflow-after-scaling", "text"],
)
def test_logged_model_refuses_hostile_numbers_naming_column_and_row(pima_model, column, value, message):
    _, model = pima_model
    rows = pima_rows().astype({column: "object"})
    rows.loc[2, column] = value
    with pytest.raises(MlflowException) as refused:
        model.predict(rows)
    assert str(refused.value).startswith(message) and "\n" not in str(refused.value)


def test_logged_model_decides_at_0_5_or_at_a_threshold_chosen_on_validation(pima_model):
    """prediction = class 1 when probability_1 >= the `threshold` param: 0.5 by default, a number, or
    the name of an F-beta threshold the run chose on validation (threshold_f2), carried by the model."""
    run, model = pima_model
    [param] = model.metadata.get_params_schema().params
    assert (param.name, param.dtype.name, param.default) == ("threshold", "string", "0.5")
    chosen = {f"f{beta}": run.data.metrics[f"threshold_f{beta}"] for beta in (1, 2, 5)}
    assert model.model_config["thresholds"] == chosen

    rows = pd.read_csv(PIMA_CSV).drop(columns="Outcome").head(200)
    probability = model.predict(rows).probability_1.to_numpy()
    for params, threshold in [(None, 0.5), ({"threshold": "0.2"}, 0.2), ({"threshold": "f2"}, chosen["f2"])]:
        predicted = model.predict(rows, params=params)
        assert list(predicted.prediction) == list(np.where(probability >= threshold, "1", "0")), params
    with pytest.raises(MlflowException) as refused:
        model.predict(rows, params={"threshold": "f7"})
    assert str(refused.value) == (
        'threshold=f7: allowed: a number in [0, 1] as a string (e.g. "0.3"), '
        + ", ".join(f"{name} ({value:g})" for name, value in chosen.items())
    )


@pytest.mark.slow
def test_logged_model_refuses_nan_where_the_preprocessing_imputes_nothing(compose, run_job, tmp_path, monkeypatch):
    """HIGGS rows are standardised with no imputation: a NaN is refused, naming feature and row."""
    monkeypatch.setattr(sys, "path", list(sys.path))  # pyfunc loading prepends the logged code dir
    run_job(
        compose(
            *FAST,
            "dataset=higgs",
            "dataset.loader.filename=HIGGS_subset_uci.csv.gz",
            "dataset.loader.url=null",
            "dataset.split.n_train=2000",
            "dataset.split.n_extra=0",
            "dataset.split.n_test=1000",
            "explainer=none",
            "tracking.log_model=true",
        )
    )
    run = only_parent(tmp_path, dataset="higgs")
    model = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model")
    rows = model.input_example.copy()
    rows.iloc[3, 4] = np.nan
    with pytest.raises(MlflowException) as refused:
        model.predict(rows)
    assert str(refused.value).startswith(
        f"feature {rows.columns[4]!r} of input 'features', row 3: not a finite number after the model's preprocessing"
    )
