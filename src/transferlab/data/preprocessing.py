"""Tabular preprocessing fitted on training rows only, and the named inputs models train on."""

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import OneHotEncoder, StandardScaler

from transferlab.data.inputs import Examples, image_input, table_input
from transferlab.data.prepared import PreparedData
from transferlab.data.splits import Split
from transferlab.data.table import Table
from transferlab.data.table_values import check_observed
from transferlab.data.text_features import TextFeatureSettings, encode_texts, fit_text_pipeline, text_input
from transferlab.errors import ConfigError

RAW_EXAMPLE_ROWS = 5


def build_preprocessor(table: Table, columns: list[str]) -> ColumnTransformer:
    """Median imputation + standard scaling for numbers, most-frequent + one-hot for categories,
    over `columns` of the table."""
    numeric = [c for c in columns if c in table.numeric]
    zero_cols = [c for c in numeric if c in table.zeros_as_missing]
    plain_cols = [c for c in numeric if c not in table.zeros_as_missing]
    categorical = [c for c in columns if c in table.categorical]
    parts = [
        # NaN -> 0, then every 0 imputed with the median of the non-zero training values: the same
        # as "0 means missing", in stock scikit-learn steps (the logged model unpickles them without transferlab).
        (
            "zeros_as_missing",
            make_pipeline(
                SimpleImputer(strategy="constant", fill_value=0),
                SimpleImputer(missing_values=0, strategy="median"),
                StandardScaler(),
            ),
            zero_cols,
        ),
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), plain_cols),
        (
            "categorical",
            make_pipeline(
                SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)
            ),
            categorical,
        ),
    ]
    return ColumnTransformer([p for p in parts if p[2]], verbose_feature_names_out=False)


def input_columns(table: Table, inputs: Mapping[str, list[str]] | None) -> dict[str, list[str]]:
    """dataset.inputs (input name -> raw columns) checked against the table; null = one input
    (`table.table_input`, usually `features`) with every column, none when the table has no columns."""
    if not inputs:
        return {table.table_input: list(table.features.columns)} if len(table.features.columns) else {}
    available, seen = list(table.features.columns), {}
    for name, columns in inputs.items():
        if not columns:
            raise ConfigError(f"dataset.inputs.{name}", columns, "list at least one feature column")
        if name in table.images or name in table.texts:
            raise ConfigError(f"dataset.inputs.{name}", columns, f"{name} is the name of an image or text input")
        for column in columns:
            if column not in available:
                raise ConfigError(
                    f"dataset.inputs.{name}",
                    column,
                    f"not a feature column of {table.source}; columns: {', '.join(map(str, available))}",
                )
            if column in seen:
                raise ConfigError(
                    f"dataset.inputs.{name}", column, f"already in input {seen[column]}; a column feeds one input"
                )
            seen[column] = name
    return {name: list(columns) for name, columns in inputs.items()}


def subgroup_columns(table: Table, subgroups: Sequence[str] | None) -> pd.DataFrame | None:
    """dataset.subgroups: raw feature or attribute columns of every row; None when none are named."""
    if not subgroups:
        return None
    columns = table.raw_columns
    if isinstance(subgroups, str):
        raise ConfigError("dataset.subgroups", subgroups, f"must be a list of columns, e.g. [{subgroups}]")
    for column in subgroups:
        if column not in columns:
            raise ConfigError(
                "dataset.subgroups", column, f"not a column of {table.source}; columns: {', '.join(map(str, columns))}"
            )
    return columns[list(subgroups)]


def prepare(
    table: Table,
    split: Split,
    inputs: Mapping[str, list[str]] | None = None,
    subgroups: Sequence[str] | None = None,
    text: TextFeatureSettings | None = None,
) -> PreparedData:
    """Fit each table input's preprocessor and each text input's vocabulary (`text` settings) on the
    training rows only and transform every split with them; image inputs are the table's images at
    the split's rows (float32, unscaled 0..255)."""
    columns = input_columns(table, inputs)
    attributes = subgroup_columns(table, subgroups)
    used = [c for cols in columns.values() for c in cols]
    check_observed(split.x_train[used], table.zeros_as_missing, table.origin)
    train_rows = split.x_train.index.to_numpy()
    preprocessors = {name: build_preprocessor(table, cols).fit(split.x_train[cols]) for name, cols in columns.items()}
    vocabularies = {
        name: fit_text_pipeline(text or TextFeatureSettings(), texts[train_rows], name)
        for name, texts in table.texts.items()
    }

    def examples(frame, labels) -> Examples:
        rows = frame.index.to_numpy()  # positions: the Table's index is a RangeIndex
        tables = {name: p.transform(frame[columns[name]]).astype("float32") for name, p in preprocessors.items()}
        pixels = {name: images[rows].astype(np.float32) for name, images in table.images.items()}
        texts = {name: messages[rows] for name, messages in table.texts.items()}
        features = {name: encode_texts(vocabularies[name], messages) for name, messages in texts.items()}
        return Examples(tables | pixels | features, labels, texts)

    specs = (
        {name: table_input(name, list(p.get_feature_names_out()), columns[name]) for name, p in preprocessors.items()}
        | {name: image_input(name, images.shape[1:], images[train_rows]) for name, images in table.images.items()}
        | {name: text_input(name, pipeline, name) for name, pipeline in vocabularies.items()}
    )
    raw_examples = split.x_test[used].head(RAW_EXAMPLE_ROWS)
    for name, messages in table.texts.items():
        raw_examples[name] = messages[raw_examples.index.to_numpy()]
    return PreparedData(
        examples(split.x_train, split.y_train),
        examples(split.x_val, split.y_val),
        examples(split.x_test, split.y_test),
        specs=specs,
        class_names=table.class_names,
        preprocessors=preprocessors | vocabularies,
        raw_examples=raw_examples,
        fingerprint=table.fingerprint(),
        source=table.source,
        test_attributes=None if attributes is None else attributes.iloc[split.x_test.index].reset_index(drop=True),
    )
