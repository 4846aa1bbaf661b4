"""Any CSV file as a Table, with checks that name the offending column and value."""

import logging

import numpy as np
import pandas as pd

from transferlab.data.csv_file import read_csv_file
from transferlab.data.table import Table
from transferlab.data.table_values import check_finite
from transferlab.errors import ConfigError

logger = logging.getLogger(__name__)

KEY = "dataset.loader"


def load_csv(
    path: str,
    target: str,
    features=None,
    categorical=(),
    zeros_as_missing=(),
    sep: str = ",",
    name: str = "csv",
    text=(),
) -> Table:
    """Read a user CSV; `path` must exist. `text` columns become text inputs (one per column)."""
    frame = read_csv_file(path, sep)
    frame, texts = text_columns(frame, text, str(path))
    return table_from_frame(frame, target, features, categorical, zeros_as_missing, name, source=str(path), texts=texts)


def text_columns(frame: pd.DataFrame, columns, source: str) -> tuple[pd.DataFrame, dict[str, np.ndarray]]:
    """The frame without its text `columns` and the rows where one is missing or blank (counted in
    the log), and those columns' messages (input name = column name)."""
    columns = list(columns or ())
    for column in columns:
        if column not in frame.columns:
            raise ConfigError(
                f"{KEY}.text", column, f"not a column of {source}; columns: {', '.join(map(str, frame.columns))}"
            )
        if pd.api.types.is_numeric_dtype(frame[column]) and frame[column].notna().any():  # all empty: below
            raise ConfigError(
                f"{KEY}.text", column, f"holds numbers ({frame[column].dtype}), not text; list text columns only"
            )
    if not columns:
        return frame, {}
    filled = np.logical_and.reduce(
        [frame[c].astype("string").str.strip().fillna("").ne("").to_numpy() for c in columns]
    )
    if not filled.any():
        raise ConfigError(f"{KEY}.text", columns, f"no row of {source} has a non-empty message in every text column")
    if not filled.all():
        logger.info("%s: dropped %d rows with an empty or missing message", source, int((~filled).sum()))
    kept = frame[filled]  # keeps the file's row numbers in the index, for later errors
    return kept.drop(columns=columns), {c: kept[c].astype(str).to_numpy(dtype=object) for c in columns}


def _numeric_column(column: pd.Series, data_rows: np.ndarray, origin: tuple[str, str]) -> pd.Series:
    """The column as numbers; numeric columns keep their dtype so raw rows match the model signature."""
    if pd.api.types.is_numeric_dtype(column):
        return column
    converted = pd.to_numeric(column, errors="coerce")
    bad = converted.isna() & column.notna()
    if bad.any():
        row = int(np.flatnonzero(bad.to_numpy())[0])
        raise ConfigError(
            *origin,
            f"column '{column.name}' has non-numeric value '{column.iloc[row]}' (data row {data_rows[row]}); "
            f"clean it or list the column in {KEY}.categorical",
        )
    return converted


def table_from_frame(
    frame,
    target,
    features=None,
    categorical=(),
    zeros_as_missing=(),
    name="csv",
    source="<frame>",
    origin: tuple[str, str] | None = None,
    **extras,
) -> Table:
    """Validate columns, encode the target as 0..K-1 and convert numeric columns; the other columns
    are kept raw as attributes. `extras` go to the Table (images, table_input). Errors name rows by
    their number in the file: `frame`'s index as pandas read it (1 = the first row under the header),
    kept by loaders that drop rows. `origin`: the (config key, file) those errors name, by default
    (dataset.loader.path, source). Text inputs (extras `texts`) are taken out of `frame` before."""
    origin = origin or (f"{KEY}.path", source)
    if frame.empty:
        raise ConfigError(*origin, "no data rows left to train on")
    data_rows = frame.index.to_numpy() + 1 if pd.api.types.is_integer_dtype(frame.index) else np.arange(len(frame)) + 1
    frame = frame.reset_index(drop=True)
    columns = list(frame.columns)
    if target not in columns:
        raise ConfigError(f"{KEY}.target", target, f"not a column of {source}; columns: {', '.join(map(str, columns))}")
    features = list(features) if features is not None else [c for c in columns if c != target]
    if not features and not extras.get("texts") and not extras.get("images"):
        raise ConfigError(f"{KEY}.features", [], "leaves the model no input; list feature columns, or null for all")
    for key, listed in (("features", features), ("categorical", categorical), ("zeros_as_missing", zeros_as_missing)):
        missing = [c for c in listed if c not in columns or c == target]
        if missing:
            raise ConfigError(
                f"{KEY}.{key}", missing[0], f"not a feature column of {source}; columns: {', '.join(map(str, columns))}"
            )
    labels = frame[target]
    if labels.isna().any():
        raise ConfigError(f"{KEY}.target", target, f"{int(labels.isna().sum())} rows have no label in {source}")
    values = labels.to_numpy()
    classes, codes = np.unique(values if values.dtype.kind in "biuf" else values.astype(str), return_inverse=True)
    if len(classes) < 2:
        raise ConfigError(f"{KEY}.target", target, f"has a single class ({classes[0]}); need at least 2")
    table_features = frame[features].copy()
    for column in features:
        if column in categorical:
            values = table_features[column]
            table_features[column] = values.astype(object).where(values.notna(), np.nan)
        else:
            table_features[column] = _numeric_column(table_features[column], data_rows, origin)
    check_finite(table_features, [c for c in features if c not in categorical], data_rows, origin)
    return Table(
        name,
        table_features,
        codes.astype("int64"),
        [str(c) for c in classes],
        list(categorical),
        list(zeros_as_missing),
        source=source,
        origin=origin,
        attributes=frame.drop(columns=[*features, target]),
        **extras,
    )
