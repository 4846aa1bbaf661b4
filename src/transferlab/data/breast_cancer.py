"""scikit-learn's bundled Wisconsin breast cancer table: the no-download default dataset."""

from sklearn.datasets import load_breast_cancer

from transferlab.data.table import Table


def load_breast_cancer_table() -> Table:
    """569 rows, 30 numeric features; the positive class (1) is malignant."""
    bunch = load_breast_cancer(as_frame=True)
    malignant = (bunch.target == 0).to_numpy().astype("int64")  # sklearn codes malignant as 0
    return Table(
        "breast_cancer", bunch.data, malignant, ["benign", "malignant"], source="sklearn.datasets.load_breast_cancer"
    )
