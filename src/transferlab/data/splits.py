"""Train / validation / test splits (seed 000: stratified 20% test, validation carved from train),
optionally keeping every group (e.g. a lesion's images) inside one split."""

from dataclasses import dataclass

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from transferlab.data.table import Table
from transferlab.errors import ConfigError, first_line

KEY = "dataset.split"


@dataclass
class Split:
    """Raw (unprocessed) rows of each part; their index labels are row positions in the Table."""

    x_train: pd.DataFrame
    x_val: pd.DataFrame
    x_test: pd.DataFrame
    y_train: np.ndarray
    y_val: np.ndarray
    y_test: np.ndarray


def split_table(
    table: Table, test_size: float, val_size: float, seed: int, stratify: bool, group_column: str | None = None
) -> Split:
    """Test first (same call as seed 000, so the same test rows), then validation out of the rest.
    With `group_column`, whole groups are split instead of rows (`grouped_split`)."""
    x, y = table.features, table.target
    if group_column is not None:
        groups = group_values(table, group_column)
        rest, test = grouped_split(np.arange(len(y)), y, groups, test_size, seed, stratify, "test_size")
        train, val = grouped_split(rest, y[rest], groups[rest], val_size, seed, stratify, "val_size")
        return Split(x.iloc[train], x.iloc[val], x.iloc[test], y[train], y[val], y[test])
    x_rest, x_test, y_rest, y_test = train_test_split(
        x, y, test_size=test_size, random_state=seed, stratify=y if stratify else None
    )
    x_train, x_val, y_train, y_val = train_test_split(
        x_rest, y_rest, test_size=val_size, random_state=seed, stratify=y_rest if stratify else None
    )
    return Split(x_train, x_val, x_test, y_train, y_val, y_test)


def group_values(table: Table, column: str) -> np.ndarray:
    """The group key of every row, from a feature or attribute column; no missing keys."""
    columns = table.raw_columns
    if column not in columns:
        raise ConfigError(
            f"{KEY}.group_column", column, f"not a column of {table.source}; columns: {', '.join(map(str, columns))}"
        )
    values = columns[column]
    if values.isna().any():
        raise ConfigError(f"{KEY}.group_column", column, f"{int(values.isna().sum())} rows have no group key")
    return values.to_numpy()


def grouped_split(
    rows: np.ndarray, labels: np.ndarray, groups: np.ndarray, size: float, seed: int, stratify: bool, name: str
) -> tuple[np.ndarray, np.ndarray]:
    """`rows` parted into kept and held-out rows by splitting their groups with train_test_split:
    `size` of the groups held out, stratified by each group's most frequent label. Each part lists
    its rows group by group in the split's shuffled group order. Row shares stay close to `size`
    when groups have similar sizes (HAM10000: 1 to 6 images per lesion)."""
    counts = pd.DataFrame({"group": groups, "label": labels}).value_counts(sort=True)  # most frequent label first
    group_labels = counts.reset_index().drop_duplicates("group").set_index("group")["label"].sort_index()
    try:
        kept, held_out = train_test_split(
            group_labels.index.to_numpy(),
            test_size=size,
            random_state=seed,
            stratify=group_labels.to_numpy() if stratify else None,
        )
    except ValueError as err:  # too few groups of some class
        raise ConfigError(
            f"{KEY}.{name}", size, f"cannot split {len(group_labels)} groups stratified: {first_line(err)}"
        ) from err
    return rows_of(rows, groups, kept), rows_of(rows, groups, held_out)


def rows_of(rows: np.ndarray, groups: np.ndarray, chosen: np.ndarray) -> np.ndarray:
    """The rows whose group is in `chosen`, ordered by the group's place in `chosen`."""
    rank = pd.Index(chosen).get_indexer(groups)
    inside = np.flatnonzero(rank >= 0)
    return rows[inside[np.argsort(rank[inside], kind="stable")]]
