"""The report's Markdown tables, written from the statistics module's frames."""

import pandas as pd

from transferlab.reporting.numbers import markdown_rows, number
from transferlab.reporting.statistics import Comparison


def mean_and_spread(row: pd.Series) -> str:
    """`mean ± std`, the std left out when there is none (one run) or it is zero."""
    spread = "" if pd.isna(row["std"]) or row["std"] == 0 else f" ± {number(row['std'], like=row['mean'])}"
    return number(row["mean"]) + spread


def wide_table(summary: pd.DataFrame, metrics: list[str], header: str) -> str:
    """One row per group, n, and `mean ± std` of each metric present (the long statistics in a column each)."""
    present = [m for m in metrics if m in set(summary["metric"])]
    rows = []
    for group, stats in summary.groupby("group", sort=True):
        by_metric = stats.set_index("metric")
        cells = [mean_and_spread(by_metric.loc[m]) if m in by_metric.index else "n/a" for m in present]
        rows.append([group, str(int(by_metric["n"].max())), *cells])
    return markdown_rows([header, "n", *present], rows)


def interval(low: float, high: float, like: float) -> str:
    return "n/a" if pd.isna(low) else f"[{number(low, like=like)}, {number(high, like=like)}]"


def statistics_table(summary: pd.DataFrame, header: str, interval_name: str) -> str:
    """Every statistic of every (group, metric): n, mean, std, min, max and the 95% interval of the mean."""
    rows = [
        [
            row["group"],
            row["metric"],
            str(int(row["n"])),
            number(row["mean"]),
            number(row["std"], like=row["mean"]),
            number(row["min"]),
            number(row["max"]),
            interval(row["ci_low"], row["ci_high"], row["mean"]),
        ]
        for _, row in summary.iterrows()
    ]
    return markdown_rows([header, "metric", "n", "mean", "std", "min", "max", f"95% interval ({interval_name})"], rows)


def signed(value: float, like: float) -> str:
    return "n/a" if pd.isna(value) else ("+" if value > 0 else "") + number(value, like=like)


def comparisons_table(comparisons: list[Comparison], header: str) -> str:
    """Each group against its baseline per metric: the mean difference and its interval, how many seeds
    favour each side, the test and its p-value, and what was left out or fell back."""
    rows = [
        [
            c.group,
            c.baseline,
            c.metric,
            f"{c.n} pairs" if c.paired else f"{c.n} vs {c.n_baseline} runs (unpaired)",
            signed(c.mean_difference, like=scale),
            interval(c.ci_low, c.ci_high, scale),
            f"{c.group_better} / {c.baseline_better} / {c.ties}" if c.paired else "n/a",
            c.test,
            "n/a" if pd.isna(c.p_value) else f"{c.p_value:.3g}",
            c.note,
        ]
        for c in comparisons
        # differences printed to the precision of their interval: +0.0004 [-0.0086, 0.0095], not +4.4e-04
        for scale in [max(abs(v) for v in (c.mean_difference, c.ci_low, c.ci_high, 0.0) if pd.notna(v))]
    ]
    return markdown_rows(
        [
            header,
            "against",
            "metric",
            "seeds",
            "mean difference",
            "95% interval",
            "seeds better (group / baseline / tie)",
            "test",
            "p",
            "note",
        ],
        rows,
    )


def reference_table(summary: pd.DataFrame, reference: dict) -> str:
    """Our mean [min, max] beside the figures the original study reported."""
    stats = summary.set_index(["group", "metric"])
    rows = [
        [group, metric, str(expected), f"{number(ours['mean'])} [{number(ours['min'])}, {number(ours['max'])}]"]
        for group, values in reference.items()
        for metric, expected in values.items()
        if (group, metric) in stats.index
        for ours in [stats.loc[(group, metric)]]
    ]
    return markdown_rows(["group", "metric", "reference", "ours: mean [min, max]"], rows)
