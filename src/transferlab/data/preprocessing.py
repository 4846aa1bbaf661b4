"""Preprocessing fitted on training rows only, and the arrays models train on."""
from dataclasses import dataclass

import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from transferlab.data.splits import Split
from transferlab.data.table import Table


def zeros_to_nan(x):
    """0 means "not measured" in some clinical columns (seed 000): make it missing."""
    return np.where(x == 0, np.nan, x)


def build_preprocessor(table: Table) -> ColumnTransformer:
    """Median imputation + standard scaling for numbers, most-frequent + one-hot for categories."""
    zero_cols = [c for c in table.numeric if c in table.zeros_as_missing]
    plain_cols = [c for c in table.numeric if c not in table.zeros_as_missing]
    parts = [
        ("zeros_as_missing", make_pipeline(FunctionTransformer(zeros_to_nan, feature_names_out="one-to-one"), SimpleImputer(strategy="median"), StandardScaler()), zero_cols),
        ("numeric", make_pipeline(SimpleImputer(strategy="median"), StandardScaler()), plain_cols),
        ("categorical", make_pipeline(SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore", sparse_output=False)), table.categorical),
    ]
    return ColumnTransformer([p for p in parts if p[2]], verbose_feature_names_out=False)


@dataclass
class PreparedData:
    """float32 model inputs for every split, plus what produced them."""

    table: Table
    split: Split
    preprocessor: ColumnTransformer
    x_train: np.ndarray
    x_val: np.ndarray
    x_test: np.ndarray

    @property
    def feature_names(self) -> list[str]:
        return list(self.preprocessor.get_feature_names_out())

    @property
    def y_train(self):
        return self.split.y_train

    @property
    def y_val(self):
        return self.split.y_val

    @property
    def y_test(self):
        return self.split.y_test


def prepare(table: Table, split: Split) -> PreparedData:
    """Fit the preprocessor on the training rows only and transform every split with it."""
    preprocessor = build_preprocessor(table).fit(split.x_train)

    def transform(frame):
        return preprocessor.transform(frame).astype("float32")

    return PreparedData(table, split, preprocessor, transform(split.x_train), transform(split.x_val), transform(split.x_test))
