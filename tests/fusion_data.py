"""A hand-built two-input dataset and a small fusion model for tests (no conftest import, so a JAX
subprocess can use it): the 300 HAM10000 rows of tests/data as a `metadata` table input (age, sex
and localization one-hot) and an `image` input (raw 0..255 pixels, 28x28x3)."""

from pathlib import Path

import numpy as np
import pandas as pd
from omegaconf import OmegaConf
from sklearn.model_selection import train_test_split

from transferlab.data.inputs import Examples, image_input, table_input
from transferlab.data.prepared import PreparedData
from transferlab.models.cnn import CNN
from transferlab.models.fusion import Fusion
from transferlab.models.mlp import MLP

HAM = Path(__file__).resolve().parent / "data" / "ham10000"
# One quick epoch per stage, every stage's trainer settings.
TRAINER = {
    "epochs": 1,
    "batch_size": 32,
    "optimizer": "adam",
    "learning_rate": 1e-2,
    "class_weight": "balanced",
    "steps_per_execution": 1,
    "jit_compile": "auto",
    "feed": "arrays",
    "seed": 0,
    "callbacks": {},
}


def ham_data(binary: bool = False) -> PreparedData:
    """7 classes (dx), or nv against the rest (binary); stratified 180 train / 60 val / 60 test rows."""
    images = np.load(HAM / "ham10000_28x28_rgb_subset.npz", allow_pickle=True)["images"].astype("float32")
    meta = pd.read_csv(HAM / "HAM10000_metadata.csv")
    table = pd.get_dummies(meta[["age", "sex", "localization"]], dtype="float32")
    table["age"] = (table["age"].fillna(50) - 50) / 20
    features = table.to_numpy("float32")
    names = ["other", "nv"] if binary else sorted(meta.dx.unique())
    labels = (meta.dx == "nv").to_numpy(int) if binary else meta.dx.map(names.index).to_numpy()
    rest, test = train_test_split(np.arange(len(labels)), test_size=60, stratify=labels, random_state=0)
    train, val = train_test_split(rest, test_size=60, stratify=labels[rest], random_state=0)

    def split(rows):
        return Examples({"metadata": features[rows], "image": images[rows]}, labels[rows])

    columns = list(table.columns)
    specs = {"metadata": table_input("metadata", columns, columns), "image": image_input("image", (28, 28, 3))}
    return PreparedData(split(train), split(val), split(test), specs, names, {}, pd.DataFrame(), "ham-test", "tests")


def fusion_model() -> Fusion:
    """Small branches, so a test trains in seconds: MLP 16 -> 8 and a two-convolution CNN with Dense 16."""
    return Fusion(
        {"table": MLP(hidden_units=[16, 8], dropout=0.0), "image": CNN(filters=[8, 16], dense_units=[16])},
        head_units=[16, 8],
    )


def settings_for(stage: str):
    return OmegaConf.create(TRAINER)
