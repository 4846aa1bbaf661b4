"""Train / validation / test splits (seed 000: stratified 20% test, validation carved from train)."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from transferlab.data.table import Table


@dataclass
class Split:
    """Raw (unprocessed) rows of each part."""

    x_train: pd.DataFrame
    x_val: pd.DataFrame
    x_test: pd.DataFrame
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray


def split_table(table: Table, test_size: float, val_size: float, seed: int, stratify: bool) -> Split:
    """Test first (same call as seed 000, so the same test rows), then validation out of the rest."""
    x, y = table.features, table.target
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y if stratify else None
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_size, random_state=seed, stratify=y_rest if stratify else None
    )
    return Split(x_train, x_val, x_test, y_train, y_val, y_test)
