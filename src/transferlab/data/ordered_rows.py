"""Seed 001's ordered split of a cached numeric file, standardised with training statistics.

Rows are read chunk by chunk into preallocated float32 arrays and scaled in place, so a run holds
one float32 copy of the rows it uses (no float64 DataFrame, no memory-mapped pages kept resident).
"""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.preprocessing import StandardScaler

from transferlab.data.inputs import Examples, table_input
from transferlab.data.prepared import PreparedData
from transferlab.data.row_cache import CachedRows, read_rows
from transferlab.errors import ConfigError

CHUNK_ROWS = 1 << 17
RAW_EXAMPLE_ROWS = 5
KEY = "dataset.split"
INPUT = "features"  # the one model input: every numeric column but the label


@dataclass(frozen=True)
class OrderedRanges:
    """[start, stop) row ranges: train = fit + val (val is the end of the train block)."""

    fit: tuple[int, int]
    val: tuple[int, int]
    extra: tuple[int, int]
    test: tuple[int, int]


def ordered_ranges(
    n_rows: int, n_train: int, n_test: int, n_extra: int | None, val_fraction: float, source: str
) -> OrderedRanges:
    """First n_train rows train (their last val_fraction validate), last n_test rows test, and the
    next n_extra rows after train (default: all rows in between) form the extra pool."""
    extra = n_rows - n_train - n_test if n_extra is None else n_extra
    used = n_train + max(extra, 0) + n_test
    if used > n_rows:
        parts = (
            f"n_train + n_extra + n_test = {n_train} + {extra} + {n_test}"
            if n_extra is not None
            else f"n_train + n_test = {n_train} + {n_test}"
        )
        raise ConfigError(f"{KEY}.n_train", n_train, f"{parts} = {used} exceeds the {n_rows} rows of {source}")
    n_val = round(n_train * val_fraction)
    if not 1 <= n_val < n_train:
        raise ConfigError(
            f"{KEY}.val_fraction",
            val_fraction,
            f"leaves {n_val} validation rows out of n_train={n_train}; need at least 1 of each",
        )
    return OrderedRanges(
        (0, n_train - n_val), (n_train - n_val, n_train), (n_train, n_train + extra), (n_rows - n_test, n_rows)
    )


@dataclass
class LabelledRows:
    """A cached numeric file whose `label_column` holds class codes 0..K-1."""

    rows: CachedRows
    label_column: int
    feature_names: list[str]
    class_names: list[str]
    source: str

    def read(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Features (float32, C order) and int32 labels of rows [start, stop)."""
        features = [c for c in range(self.rows.n_columns) if c != self.label_column]
        x = np.empty((stop - start, len(features)), dtype=np.float32)
        y = np.empty(stop - start, dtype=np.int32)
        buffer = np.empty((min(CHUNK_ROWS, max(stop - start, 1)), self.rows.n_columns), dtype=np.float32)
        for begin in range(start, stop, CHUNK_ROWS):
            end = min(begin + CHUNK_ROWS, stop)
            block = read_rows(self.rows, begin, end, out=buffer[: end - begin])
            np.take(block, features, axis=1, out=x[begin - start : end - start])
            y[begin - start : end - start] = block[:, self.label_column]
        return x, y

    def fit_scaler(self, x: np.ndarray) -> StandardScaler:
        """Mean and std of training rows, accumulated in float64 chunk by chunk (scikit-learn's
        partial_fit); zero-std features get scale 1."""
        scaler = StandardScaler()
        for begin in range(0, len(x), CHUNK_ROWS):
            scaler.partial_fit(pd.DataFrame(x[begin : begin + CHUNK_ROWS], columns=self.feature_names, copy=False))
        return scaler

    def prepare(
        self, n_train: int, n_test: int, n_extra: int | None = None, val_fraction: float = 0.05
    ) -> PreparedData:
        ranges = ordered_ranges(self.rows.n_rows, n_train, n_test, n_extra, val_fraction, self.source)
        x_block, y_block = self.read(0, n_train)
        n_fit = ranges.fit[1]
        scaler = self.fit_scaler(x_block[:n_fit])
        x_extra, y_extra = self.read(*ranges.extra)
        x_test, y_test = self.read(*ranges.test)
        raw_examples = pd.DataFrame(x_test[:RAW_EXAMPLE_ROWS].copy(), columns=self.feature_names)
        # Scaled in place (x -= mean; x /= scale) rather than scaler.transform, which would
        # allocate a second copy of every split.
        mean, scale = scaler.mean_.astype(np.float32), scaler.scale_.astype(np.float32)
        for x in (x_block, x_extra, x_test):
            x -= mean
            x /= scale
        return PreparedData(
            Examples({INPUT: x_block[:n_fit]}, y_block[:n_fit]),
            Examples({INPUT: x_block[n_fit:]}, y_block[n_fit:]),
            Examples({INPUT: x_test}, y_test),
            specs={INPUT: table_input(INPUT, self.feature_names, self.feature_names)},
            class_names=self.class_names,
            preprocessors={INPUT: scaler},
            raw_examples=raw_examples,
            fingerprint=self.rows.sha256,
            source=self.source,
            extra=Examples({INPUT: x_extra}, y_extra),
        )
