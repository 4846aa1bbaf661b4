"""Test metrics per subgroup (sex, diagnosis method, age band, ...) with fairlearn's MetricFrame
(seed 002, sections 7.5-7.6: a classification report per dx_type and per sex).

fairlearn is imported when a report is made, so runs of datasets without attributes never load it.
"""

import warnings
from dataclasses import dataclass
from functools import partial

import numpy as np
import pandas as pd
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import metric_suffix
from transferlab.evaluation.plots import subgroup_bars
from transferlab.evaluation.settings import SubgroupSettings

MISSING = "missing"
macro_f1 = partial(f1_score, average="macro", zero_division=0)


def subgroup_columns(settings: SubgroupSettings, attributes: pd.DataFrame | None) -> list[str]:
    """The attribute columns reported on: the configured ones, or all; a ConfigError (before any
    run) for a configured column the dataset does not have."""
    available = [] if attributes is None else list(attributes.columns)
    if settings.columns is None:
        return available
    for column in settings.columns:
        if column not in available:
            raise ConfigError(
                "evaluation.subgroups.columns",
                column,
                "not a subgroup attribute of this dataset; available: " + (", ".join(available) or "none"),
            )
    return list(settings.columns)


def groups_of(values: pd.Series, edges: list[float] | None) -> pd.Series:
    """Each row's group as an ordered categorical: its band `[lo, hi)` when `edges` are given (a
    value outside them: `outside [lo, hi)`), else its value; missing values form the group `missing`."""
    if edges is None:
        groups = values.astype("string")
        order = sorted(groups.dropna().unique())
    else:
        bands = pd.cut(values.astype(float), edges, right=False)
        labels = [f"[{lo:g}, {hi:g})" for lo, hi in zip(edges, edges[1:])]
        groups = bands.cat.rename_categories(labels).astype("string")
        outside = f"outside [{edges[0]:g}, {edges[-1]:g})"
        groups = groups.mask(groups.isna() & values.notna(), outside)
        order = labels + [outside]
    groups = groups.fillna(MISSING)
    present = set(groups)
    order = [group for group in [*order, MISSING] if group in present]
    return pd.Series(pd.Categorical(groups, categories=order, ordered=True), name=values.name, index=values.index)


@dataclass
class SubgroupReport:
    tables: dict[str, pd.DataFrame]  # column -> one row per group
    metrics: dict[str, float]  # subgroup_<column>_macro_f1_gap
    figure: object


def metric_frame(y_true, y_pred, groups: pd.Series, metrics: dict):
    """fairlearn's MetricFrame of `metrics` per group (balanced accuracy's warning about classes a
    group never has is expected and silenced)."""
    from fairlearn.metrics import MetricFrame

    with warnings.catch_warnings(action="ignore", category=UserWarning):
        return MetricFrame(metrics=metrics, y_true=y_true, y_pred=y_pred, sensitive_features=groups)


def column_report(y_true, y_pred, groups: pd.Series, min_count: int) -> tuple[pd.DataFrame, float | None]:
    """Macro-F1, balanced accuracy, accuracy and count per group, and the largest macro-F1
    difference between groups of at least `min_count` rows (None with fewer than two such groups)."""
    from fairlearn.metrics import count

    frame = metric_frame(
        y_true,
        y_pred,
        groups,
        {
            "macro_f1": macro_f1,
            "balanced_accuracy": balanced_accuracy_score,
            "accuracy": accuracy_score,
            "count": count,
        },
    )
    table = frame.by_group.reindex(groups.cat.categories).rename_axis("group").reset_index()  # band order
    table["count"] = table["count"].astype(int)
    table["in_gap"] = table["count"] >= min_count
    large = groups.isin(table.group[table.in_gap]).to_numpy()
    if table.in_gap.sum() < 2:
        return table, None
    gap = metric_frame(y_true[large], y_pred[large], groups[large].cat.remove_unused_categories(), {"f": macro_f1})
    return table, float(gap.difference()["f"])


def subgroup_report(y_true, y_pred, attributes: pd.DataFrame, settings: SubgroupSettings) -> SubgroupReport:
    """One table per attribute column, the gap metrics and one bar chart of macro-F1 per group."""
    y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
    tables, metrics = {}, {}
    for column in subgroup_columns(settings, attributes):
        groups = groups_of(attributes[column].reset_index(drop=True), settings.bands.get(column))
        tables[column], gap = column_report(y_true, y_pred, groups, settings.min_count)
        if gap is not None:
            metrics[f"subgroup_{metric_suffix(column)}_macro_f1_gap"] = gap
    overall = float(macro_f1(y_true, y_pred))
    return SubgroupReport(tables, metrics, subgroup_bars(tables, overall, settings.min_count))
