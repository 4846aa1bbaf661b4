"""The in-memory form every tabular loader returns."""

import hashlib
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transferlab.data.inputs import count_rows


@dataclass
class Table:
    """Raw feature columns, integer class codes and what the columns mean.

    Row-aligned extras: `images` (input name -> uint8 (N, H, W, C) pixels, one image per row),
    `texts` (input name = the text column's -> object array of one message per row), `attributes`
    (raw columns that are not features: ids, dx_type, ..., for grouped splits and subgroup reports).
    `features` has a RangeIndex, so a split's row labels are positions into all of them.
    """

    name: str
    features: pd.DataFrame
    target: np.ndarray
    class_names: list[str]
    categorical: list[str] = field(default_factory=list)
    zeros_as_missing: list[str] = field(default_factory=list)
    source: str = "<frame>"  # where the rows came from (a file path, a library), for tracking
    images: dict[str, np.ndarray] = field(default_factory=dict)
    texts: dict[str, np.ndarray] = field(default_factory=dict)
    attributes: pd.DataFrame | None = None
    table_input: str = "features"  # the name of the one table input when dataset.inputs does not group columns
    origin: tuple[str, str] = ("dataset.loader.path", "<frame>")  # (config key, file) errors about values name

    def __post_init__(self):
        if not self.features.index.equals(pd.RangeIndex(len(self.features))):
            raise ValueError(f"{self.name}: features need a RangeIndex 0..N-1 (reset_index(drop=True))")
        aligned = {"features": self.features, "target": self.target} | self.images | self.texts
        if self.attributes is not None:
            if not self.attributes.index.equals(self.features.index):
                raise ValueError(f"{self.name}: attributes need the features' RangeIndex")
            aligned["attributes"] = self.attributes
        count_rows(aligned)

    @property
    def numeric(self) -> list[str]:
        return [c for c in self.features.columns if c not in self.categorical]

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def raw_columns(self) -> pd.DataFrame:
        """Features and attributes side by side: what subgroups and group columns are chosen from."""
        return self.features if self.attributes is None else pd.concat([self.features, self.attributes], axis=1)

    def fingerprint(self) -> str:
        """sha256 over feature values, column names, labels, images and texts: logged so runs name their data."""
        digest = hashlib.sha256()
        digest.update(pd.util.hash_pandas_object(self.features, index=False).values.tobytes())
        digest.update(",".join(map(str, self.features.columns)).encode())
        digest.update(np.ascontiguousarray(self.target).tobytes())
        for name, images in sorted(self.images.items()):
            digest.update(f"{name}{images.shape}".encode())
            digest.update(np.ascontiguousarray(images).tobytes())
        for name, texts in sorted(self.texts.items()):
            digest.update(name.encode())
            digest.update(pd.util.hash_array(np.asarray(texts, dtype=object)).tobytes())
        return digest.hexdigest()
