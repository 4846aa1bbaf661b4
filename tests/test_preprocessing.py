"""9. Splits are the seed-000 splits, and preprocessing is fitted on training rows only."""

import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate
from sklearn.model_selection import train_test_split

from conftest import PIMA_CSV, compose_config
from transferlab.data.inputs import InputKind
from transferlab.data.preprocessing import prepare
from transferlab.data.splits import Split, split_table
from transferlab.data.table import Table
from transferlab.errors import ConfigError

ZERO_COLUMNS = ["Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"]
PLAIN_COLUMNS = ["Pregnancies", "DiabetesPedigreeFunction", "Age"]


@pytest.fixture(scope="module")
def pima():
    """Pima through the configured loader and split (dataset=pima: test 0.2, val 0.2, seed 42)."""
    cfg = compose_config("dataset=pima")
    table = instantiate(cfg.dataset.loader)
    split = split_table(table, **cfg.dataset.split)
    return table, split, prepare(table, split)


def step(preprocessor, part: str, kind: str):
    return preprocessor.named_transformers_[part].named_steps[kind]


def test_pima_split_sizes_and_stratification(pima):
    table, split, _ = pima
    assert len(table.features) == 768 and table.target.sum() == 268
    assert (len(split.x_train), len(split.x_val), len(split.x_test)) == (491, 123, 154)
    assert [len(y) for y in (split.y_train, split.y_val, split.y_test)] == [491, 123, 154]
    indices = [set(x.index) for x in (split.x_train, split.x_val, split.x_test)]
    assert not (indices[0] & indices[1] or indices[0] & indices[2] or indices[1] & indices[2])
    assert set.union(*indices) == set(table.features.index)
    overall = table.target.mean()
    for y in (split.y_train, split.y_val, split.y_test):
        assert abs(y.mean() - overall) <= 1 / len(y)  # stratified: class ratio kept up to one row
    for x, y in ((split.x_train, split.y_train), (split.x_test, split.y_test)):
        assert np.array_equal(table.target[x.index], y)  # labels stay aligned with their rows


def test_pima_test_rows_are_seed_000s(pima):
    _, split, _ = pima
    frame = pd.read_csv(PIMA_CSV)
    x, y = frame.drop(columns="Outcome"), frame.Outcome
    _, x_test, _, y_test = train_test_split(x, y, test_size=0.2, random_state=42, stratify=y)
    assert list(split.x_test.index) == list(x_test.index)
    pd.testing.assert_frame_equal(split.x_test.astype("float64"), x_test.astype("float64"))
    assert np.array_equal(split.y_test, y_test.to_numpy())


def test_pima_plain_columns_fitted_on_train_rows_only(pima):
    table, split, data = pima
    train, everything = split.x_train[PLAIN_COLUMNS], table.features[PLAIN_COLUMNS]
    medians = step(data.preprocessors["features"], "numeric", "simpleimputer").statistics_
    scaler = step(data.preprocessors["features"], "numeric", "standardscaler")
    assert np.allclose(medians, train.median())
    assert np.allclose(scaler.mean_, train.mean())
    assert np.allclose(scaler.scale_, train.std(ddof=0))
    assert not np.allclose(scaler.mean_, everything.mean())


def test_pima_zeros_as_missing_imputed_from_nonzero_train_values(pima):
    table, split, data = pima
    train = split.x_train[ZERO_COLUMNS].replace(0, np.nan)
    everything = table.features[ZERO_COLUMNS].replace(0, np.nan)
    medians = step(data.preprocessors["features"], "zeros_as_missing", "simpleimputer-2").statistics_
    scaler = step(data.preprocessors["features"], "zeros_as_missing", "standardscaler")
    assert np.allclose(medians, train.median())  # medians of the non-zero training values
    assert not np.allclose(medians, everything.median())
    imputed_train = train.fillna(pd.Series(medians, index=ZERO_COLUMNS))
    assert np.allclose(scaler.mean_, imputed_train.mean())
    assert not np.allclose(scaler.mean_, everything.fillna(everything.median()).mean())

    # A zero in a test row becomes the scaled training median, whatever the test rows hold.
    names = list(data.specs["features"].columns)
    for j, column in enumerate(ZERO_COLUMNS):
        zero_rows = np.flatnonzero(split.x_test[column].to_numpy() == 0)
        if len(zero_rows):
            expected = (medians[j] - scaler.mean_[j]) / scaler.scale_[j]
            assert np.allclose(data.test.inputs["features"][zero_rows, names.index(column)], expected, atol=1e-5)


def test_prepared_arrays(pima):
    _, split, data = pima
    x_train, x_val, x_test = (part.inputs["features"] for part in (data.train, data.val, data.test))
    assert list(data.train.inputs) == list(data.specs) == ["features"]
    assert x_train.dtype == x_val.dtype == x_test.dtype == np.float32
    assert x_train.shape == (491, 8) and x_val.shape == (123, 8) and x_test.shape == (154, 8)
    assert sorted(data.specs["features"].columns) == sorted(ZERO_COLUMNS + PLAIN_COLUMNS)
    assert data.specs["features"].raw_columns == tuple(split.x_train.columns)
    assert not np.isnan(x_test).any()
    assert np.allclose(x_train.mean(axis=0), 0, atol=1e-5)


def test_columns_grouped_into_named_inputs_each_fitted_on_train(pima):
    table, split, _ = pima
    data = prepare(table, split, {"vitals": ["Glucose", "BMI"], "history": ["Pregnancies", "Age"]})
    assert list(data.specs) == ["vitals", "history"] and data.specs["history"].shape == (2,)
    assert data.specs["vitals"].raw_columns == ("Glucose", "BMI") and data.specs["vitals"].kind == InputKind.TABLE
    for part in (data.train, data.val, data.test):
        assert set(part.inputs) == {"vitals", "history"} and part.inputs["history"].shape == (part.n_rows, 2)
    scaler = step(data.preprocessors["history"], "numeric", "standardscaler")
    assert np.allclose(scaler.mean_, split.x_train[["Pregnancies", "Age"]].mean())
    assert list(data.raw_examples.columns) == ["Glucose", "BMI", "Pregnancies", "Age"]


@pytest.mark.parametrize(
    ("inputs", "message"),
    [
        ({"a": ["Glucose"], "b": ["Glucose"]}, "dataset.inputs.b=Glucose: already in input a"),
        ({"a": ["Glucose", "Outcome"]}, "dataset.inputs.a=Outcome: not a feature column of"),
        ({"a": []}, r"dataset.inputs.a=\[\]: list at least one feature column"),
    ],
)
def test_bad_input_groups_are_one_line_errors(pima, inputs, message):
    table, split, _ = pima
    with pytest.raises(ConfigError, match=message):
        prepare(table, split, inputs)


def test_extreme_test_rows_do_not_move_fitted_statistics():
    """Synthetic split: test rows are huge, missing values and zeros in every split."""
    rng = np.random.default_rng(0)
    train = pd.DataFrame(
        {
            "a": rng.normal(size=50),
            "z": rng.integers(1, 10, size=50).astype(float),
            "c": rng.choice(["x", "y"], size=50),
        }
    )
    train.loc[[0, 1], "a"] = np.nan
    train.loc[[2, 3], "z"] = 0.0
    val = train.iloc[:10].copy()
    test = pd.DataFrame({"a": [1e6, 2e6, np.nan], "z": [0.0, 5e5, 6e5], "c": ["w", "w", "w"]})
    features = pd.concat([train, val, test], ignore_index=True)
    table = Table(
        "synthetic",
        features,
        np.zeros(len(features), dtype="int64"),
        ["0", "1"],
        categorical=["c"],
        zeros_as_missing=["z"],
    )
    split = Split(train, val, test, np.zeros(50), np.zeros(10), np.zeros(3))
    data = prepare(table, split)

    assert step(data.preprocessors["features"], "numeric", "simpleimputer").statistics_ == pytest.approx(
        [train.a.median()]
    )
    assert step(data.preprocessors["features"], "numeric", "standardscaler").mean_ == pytest.approx(
        [train.a.fillna(train.a.median()).mean()]
    )
    nonzero_z = train.z[train.z != 0]
    assert step(data.preprocessors["features"], "zeros_as_missing", "simpleimputer-2").statistics_ == pytest.approx(
        [nonzero_z.median()]
    )
    assert list(step(data.preprocessors["features"], "categorical", "onehotencoder").categories_[0]) == [
        "x",
        "y",
    ]  # no "w"
    names = list(data.specs["features"].columns)
    x_train, x_test = data.train.inputs["features"], data.test.inputs["features"]
    assert np.all(x_test[:, [names.index("c_x"), names.index("c_y")]] == 0)  # unseen category
    assert x_test[2, names.index("a")] == pytest.approx(x_train[0, names.index("a")])  # NaN -> train median
    assert x_test[0, names.index("z")] == pytest.approx(x_train[2, names.index("z")])  # 0 -> train median
