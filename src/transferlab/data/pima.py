"""Pima Indians Diabetes (NIDDK; Kaggle uciml/pima-indians-diabetes-database layout)."""

import pandas as pd

from transferlab.data.csv_table import table_from_frame
from transferlab.data.files import locate_file
from transferlab.data.table import Table

COLUMNS = [
    "Pregnancies",
    "Glucose",
    "BloodPressure",
    "SkinThickness",
    "Insulin",
    "BMI",
    "DiabetesPedigreeFunction",
    "Age",
    "Outcome",
]


def load_pima(path, data_dir, url, zeros_as_missing) -> Table:
    """Load diabetes.csv (with header) or the headerless UCI file; zeros mean missing in some columns."""
    file = locate_file(path, data_dir, "pima", "diabetes.csv", url, key="dataset.loader")
    frame = pd.read_csv(file)
    if all(_is_number(c) for c in frame.columns):  # the UCI copy has no header row
        frame = pd.read_csv(file, header=None, names=COLUMNS)
    return table_from_frame(frame, "Outcome", COLUMNS[:-1], (), zeros_as_missing, name="pima", source=str(file))


def _is_number(text) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
