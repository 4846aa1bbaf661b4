"""The in-memory form every tabular loader returns."""

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd


@dataclass
class Table:
    """Raw feature columns, integer class codes and what the columns mean."""

    name: str
    features: pd.DataFrame
    target: np.ndarray
    class_names: list[str]
    categorical: list[str] = field(default_factory=list)
    zeros_as_missing: list[str] = field(default_factory=list)
    source: str = "<frame>"  # where the rows came from (a file path, a library), for tracking

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.features.columns if c not in self.categorical]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    def fingerprint(self) -> str:
        """sha256 over feature values, column names and labels: logged so runs name their data."""
        digest = hashlib.sha256()
        digest.update(pd.util.hash_pandas_object(self.features, index=False).values.tobytes())
        digest.update(",".join(map(str, self.features.columns)).encode())
        digest.update(np.ascontiguousarray(self.target).tobytes())
        return digest.hexdigest()
