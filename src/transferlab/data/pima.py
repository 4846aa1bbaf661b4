"""Pima Indians Diabetes (NIDDK; Kaggle uciml/pima-indians-diabetes-database layout)."""

from transferlab.data.csv_file import read_csv_file
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


def load_pima(path, data_dir, url, zeros_as_missing, sep: str = ",") -> Table:
    """Load diabetes.csv (with header) or the headerless UCI file; zeros mean missing in some columns."""
    file = locate_file(path, data_dir, "pima", "diabetes.csv", url, key="dataset.loader")
    frame = read_csv_file(file, sep, headerless_names=COLUMNS)  # the UCI copy has no header row
    return table_from_frame(frame, "Outcome", COLUMNS[:-1], (), zeros_as_missing, name="pima", source=str(file))
