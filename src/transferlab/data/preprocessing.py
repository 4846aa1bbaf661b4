"""Tabular preprocessing fitted on training rows only, and the arrays models train on."""
import numpy as np
from sklearn.compose import ColumnTransformer
from sklearn.impute import SimpleImputer
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, OneHotEncoder, StandardScaler

from transferlab.data.prepared import PreparedData
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


RAW_EXAMPLE_ROWS = 5


def prepare(table: Table, split: Split) -> PreparedData:
    """Fit the preprocessor on the training rows only and transform every split with it."""
    preprocessor = build_preprocessor(table).fit(split.x_train)

    def transform(frame):
        return preprocessor.transform(frame).astype("float32")

    return PreparedData(
        transform(split.x_train), split.y_train, transform(split.x_val), split.y_val, transform(split.x_test), split.y_test,
        class_names=table.class_names, feature_names=list(preprocessor.get_feature_names_out()),
        raw_columns=list(table.features.columns), preprocessor=preprocessor,
        raw_examples=split.x_test.head(RAW_EXAMPLE_ROWS), fingerprint=table.fingerprint(),
    )
