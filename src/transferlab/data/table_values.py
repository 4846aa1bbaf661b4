"""Checks on a table's feature values: every number must fit the float32 the networks compute in, and
every column needs values in the training rows to impute its missing ones from.

Missing values (NaN) are allowed in table columns: preprocessing imputes them (median for numbers,
also after zeros_as_missing; most frequent for categories). Infinities and numbers beyond float32's
range are not: scaled, they poison training and evaluation with inf and NaN.
"""

import numpy as np
import pandas as pd

from transferlab.errors import ConfigError

FLOAT32_MAX = float(np.finfo(np.float32).max)


def check_finite(features: pd.DataFrame, numeric: list[str], data_rows: np.ndarray, origin: tuple[str, str]) -> None:
    """No infinite number and none beyond float32's range in the `numeric` columns; the error names
    `origin` (config key, file) and the first such row (`data_rows`: each row's number in the file)."""
    first = None  # (position, column) of the earliest bad value
    for column in numeric:
        values = features[column].to_numpy(dtype=np.float64, na_value=np.nan)
        bad = np.flatnonzero(np.abs(values) > FLOAT32_MAX)  # inf too; NaN compares False
        if bad.size and (first is None or bad[0] < first[0]):
            first = (int(bad[0]), column)
    if first is None:
        return
    position, column = first
    value = features[column].iloc[position]
    problem = (
        f"infinite value ({value})" if np.isinf(value) else f"{value:g} is beyond float32's range (+-{FLOAT32_MAX:.1e})"
    )
    raise ConfigError(
        *origin,
        f"column {column!r}, data row {data_rows[position]}: {problem}; fix or remove it (an empty cell is imputed)",
    )


def check_observed(x_train: pd.DataFrame, zeros_as_missing: list[str], origin: tuple[str, str]) -> None:
    """Each column has a value in the training rows (not missing, nor 0 in a zeros_as_missing
    column): imputation learns from them, and scikit-learn would silently drop a column without."""
    observed = x_train.notna()
    zero_columns = [c for c in zeros_as_missing if c in x_train.columns]
    observed[zero_columns] &= x_train[zero_columns] != 0
    empty = observed.columns[~observed.any().to_numpy()]
    if len(empty):
        column = empty[0]
        missing = "missing or 0 (zeros_as_missing)" if column in zero_columns else "missing"
        raise ConfigError(
            *origin,
            f"column {column!r} has no value in the {len(x_train)} training rows (all {missing}); "
            "nothing to impute it from: fill it in or leave it out of the features",
        )
