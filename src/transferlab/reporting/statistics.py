"""Statistics of a run-comparison report: per-group summaries, comparisons to a baseline, the Pareto frontier.

Input is a frame shaped like `mlflow.search_runs` output: one row per run, `metrics.<name>` columns, grouping
columns (`tags.arm`, `params.strategy.name`, ...) and a seed column.
"""

from dataclasses import asdict, dataclass, fields

import numpy as np
import pandas as pd
import scipy.stats

INTERVALS = ("t", "bootstrap")
BOOTSTRAP_RESAMPLES = 10_000


@dataclass(frozen=True)
class Comparison:
    """One group against the baseline on one metric (one row of the paired table)."""

    group: str
    baseline: str
    metric: str
    paired: bool  # True when runs were matched by seed
    n: int  # pairs when paired, else runs of `group`
    n_baseline: int  # pairs when paired, else runs of `baseline`
    mean_difference: float  # group minus baseline
    ci_low: float
    ci_high: float
    group_better: int  # paired: seeds where group > baseline; unpaired: 0
    baseline_better: int
    ties: int
    test: str
    p_value: float  # NaN when no test could run
    note: str


def group_labels(runs: pd.DataFrame, columns: list[str]) -> pd.Series:
    """One label per run: the single column's value, or "key=value, ..." over several columns (missing: "None")."""
    values = runs[columns].astype(object).fillna("None").astype(str)
    if len(columns) == 1:
        return values[columns[0]]
    keys = [column.removeprefix("params.").removeprefix("tags.") for column in columns]
    return values.apply(lambda row: ", ".join(f"{key}={value}" for key, value in zip(keys, row)), axis=1)


def check_interval(interval: str) -> None:
    """Raise ValueError unless `interval` is one of INTERVALS."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}; expected one of {', '.join(INTERVALS)}")


def interval_of_mean(values: np.ndarray, interval: str, confidence: float, seed: int) -> tuple[float, float]:
    """Confidence interval of the mean of `values`; NaN when n < 2 (or zero spread, for the bootstrap)."""
    n = len(values)
    if n < 2:
        return np.nan, np.nan
    mean, std = float(np.mean(values)), float(np.std(values, ddof=1))
    if interval == "t":
        half_width = scipy.stats.t.ppf((1 + confidence) / 2, n - 1) * std / np.sqrt(n)
        return mean - half_width, mean + half_width
    if std == 0:
        return np.nan, np.nan
    result = scipy.stats.bootstrap(
        (values,),
        np.mean,
        confidence_level=confidence,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        random_state=seed,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def difference_of_means(group: np.ndarray, baseline: np.ndarray, axis: int = -1) -> np.ndarray:
    """mean(group) - mean(baseline) along `axis` (the bootstrap statistic of the unpaired comparison)."""
    return np.mean(group, axis=axis) - np.mean(baseline, axis=axis)


def interval_of_difference(
    group: np.ndarray, baseline: np.ndarray, interval: str, confidence: float, seed: int
) -> tuple[float, float]:
    """Interval of mean(group) - mean(baseline) for independent samples: Welch t, or bootstrap of the difference."""
    if min(len(group), len(baseline)) < 2:
        return np.nan, np.nan
    if interval == "t":
        result = scipy.stats.ttest_ind(group, baseline, equal_var=False).confidence_interval(confidence)
        return float(result.low), float(result.high)
    if np.std(group) == 0 and np.std(baseline) == 0:
        return np.nan, np.nan
    result = scipy.stats.bootstrap(
        (group, baseline),
        difference_of_means,
        vectorized=True,
        confidence_level=confidence,
        n_resamples=BOOTSTRAP_RESAMPLES,
        method="percentile",
        random_state=seed,
    )
    return float(result.confidence_interval.low), float(result.confidence_interval.high)


def metric_values(runs: pd.DataFrame, metric: str) -> np.ndarray:
    """The runs' values of `metrics.<metric>`, NaN left out."""
    return runs[f"metrics.{metric}"].dropna().to_numpy(float)


def summary_row(values: np.ndarray, interval: str, confidence: float, seed: int) -> dict[str, float]:
    """n, mean, std, min, max and the interval of the mean of one group's values of one metric."""
    ci_low, ci_high = interval_of_mean(values, interval, confidence, seed)
    empty = len(values) == 0
    return {
        "n": len(values),
        "mean": np.nan if empty else float(np.mean(values)),
        "std": float(np.std(values, ddof=1)) if len(values) > 1 else np.nan,
        "min": np.nan if empty else float(np.min(values)),
        "max": np.nan if empty else float(np.max(values)),
        "ci_low": ci_low,
        "ci_high": ci_high,
    }


def summarize_groups(
    runs: pd.DataFrame,
    columns: list[str],
    metrics: list[str],
    interval: str = "t",
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """One row per (group, metric) for metrics present as `metrics.<m>`: n, mean, std, min, max, ci_low, ci_high.
    NaN values are left out; groups in sorted label order."""
    check_interval(interval)
    present = [metric for metric in metrics if f"metrics.{metric}" in runs]
    values = runs[[f"metrics.{metric}" for metric in present]]  # split once, not the whole frame per group
    rows = [
        {"group": label, "metric": metric} | summary_row(metric_values(group_runs, metric), interval, confidence, seed)
        for label, group_runs in values.groupby(group_labels(runs, columns).to_numpy(), sort=True)
        for metric in present
    ]
    return pd.DataFrame(rows, columns=["group", "metric", "n", "mean", "std", "min", "max", "ci_low", "ci_high"])


def values_by_seed(runs: pd.DataFrame, metric_column: str, seed_column: str) -> pd.Series:
    """Mean of the metric per seed (runs without the metric or a seed left out), indexed by seed."""
    if seed_column not in runs:
        return pd.Series(dtype=float)
    known = runs.dropna(subset=[metric_column, seed_column])
    return known.groupby(seed_column)[metric_column].mean()


def paired_comparison(
    group: pd.Series, baseline: pd.Series, interval: str, confidence: float, seed: int
) -> dict[str, object]:
    """Fields of a comparison over the seeds both sides have; seeds on one side only are counted in the note."""
    common = group.index.intersection(baseline.index)
    differences = (group[common] - baseline[common]).to_numpy(float)
    ci_low, ci_high = interval_of_mean(differences, interval, confidence, seed)
    all_seeds = group.index.union(baseline.index)
    notes = []
    if len(common) < len(all_seeds):
        notes.append(f"{len(all_seeds) - len(common)} of {len(all_seeds)} seeds unpaired, left out")
    if len(differences) < 2:
        test, p_value = "none (n < 2)", np.nan
        notes.append("fewer than 2 pairs: no test")
    elif np.all(differences == 0):
        test, p_value = "none (all differences zero)", np.nan
        notes.append("all differences are zero: no test")
    else:
        test, p_value = "Wilcoxon signed-rank", float(scipy.stats.wilcoxon(differences).pvalue)
    return {
        "paired": True,
        "n": len(differences),
        "n_baseline": len(differences),
        "mean_difference": float(np.mean(differences)),
        "ci_low": ci_low,
        "ci_high": ci_high,
        "group_better": int(np.sum(differences > 0)),
        "baseline_better": int(np.sum(differences < 0)),
        "ties": int(np.sum(differences == 0)),
        "test": test,
        "p_value": p_value,
        "note": "; ".join(notes),
    }


def unpaired_comparison(
    group: np.ndarray, baseline: np.ndarray, interval: str, confidence: float, seed: int
) -> dict[str, object]:
    """Fields of a comparison of independent runs: difference of means, Welch/bootstrap interval, Mann-Whitney U."""
    ci_low, ci_high = interval_of_difference(group, baseline, interval, confidence, seed)
    notes = ["no common seed: unpaired comparison"]
    if min(len(group), len(baseline)) < 2:
        test, p_value = "none (n < 2)", np.nan
        notes.append("fewer than 2 runs on a side: no test")
    else:
        test, p_value = "Mann-Whitney U", float(scipy.stats.mannwhitneyu(group, baseline).pvalue)
    empty = min(len(group), len(baseline)) == 0
    return {
        "paired": False,
        "n": len(group),
        "n_baseline": len(baseline),
        "mean_difference": np.nan if empty else float(np.mean(group) - np.mean(baseline)),
        "ci_low": ci_low,
        "ci_high": ci_high,
        "group_better": 0,
        "baseline_better": 0,
        "ties": 0,
        "test": test,
        "p_value": p_value,
        "note": "; ".join(notes),
    }


def check_labels(wanted: list[str], labels: list[str], role: str) -> None:
    """Raise ValueError naming the first of `wanted` that is not among `labels`, and the labels there are."""
    for label in wanted:
        if label not in labels:
            raise ValueError(f"{role} {label!r} is not a group; the groups are: {', '.join(map(repr, labels))}")


def compare_one(
    runs_by_group: dict[str, pd.DataFrame],
    group: str,
    baseline: str,
    metric: str,
    seed_column: str,
    interval: str,
    confidence: float,
    seed: int,
) -> Comparison | None:
    """`group` against `baseline` on one metric: paired by seed when a seed is common, else unpaired; None when
    neither side has the metric."""
    group_runs, baseline_runs = runs_by_group[group], runs_by_group[baseline]
    group_values, baseline_values = metric_values(group_runs, metric), metric_values(baseline_runs, metric)
    if len(group_values) == 0 and len(baseline_values) == 0:
        return None
    group_by_seed = values_by_seed(group_runs, f"metrics.{metric}", seed_column)
    baseline_by_seed = values_by_seed(baseline_runs, f"metrics.{metric}", seed_column)
    if group_by_seed.index.intersection(baseline_by_seed.index).empty:
        result = unpaired_comparison(group_values, baseline_values, interval, confidence, seed)
    else:
        result = paired_comparison(group_by_seed, baseline_by_seed, interval, confidence, seed)
    return Comparison(group=group, baseline=baseline, metric=metric, **result)


def compare_to_baseline(
    runs: pd.DataFrame,
    columns: list[str],
    baseline: str,
    metrics: list[str],
    seed_column: str = "params.trainer.seed",
    interval: str = "t",
    confidence: float = 0.95,
    seed: int = 0,
    compared: list[str] | None = None,
) -> list[Comparison]:
    """Each other group (or only `compared`) against the `baseline` label, per metric present as `metrics.<m>`:
    paired by seed (Wilcoxon signed-rank) when a seed is common, else unpaired (Mann-Whitney U)."""
    check_interval(interval)
    labels = group_labels(runs, columns)
    existing = sorted(labels.unique())
    check_labels([baseline], existing, "baseline")
    groups = [label for label in existing if label != baseline] if compared is None else compared
    check_labels(groups, existing, "compared group")
    needed = [c for c in [seed_column, *(f"metrics.{m}" for m in metrics)] if c in runs]
    runs_by_group = dict(tuple(runs[needed].groupby(labels.to_numpy())))  # split once, not per comparison
    comparisons = [
        compare_one(runs_by_group, group, baseline, metric, seed_column, interval, confidence, seed)
        for group in groups
        for metric in metrics
        if f"metrics.{metric}" in runs
    ]
    return [comparison for comparison in comparisons if comparison is not None]


def comparisons_frame(comparisons: list[Comparison]) -> pd.DataFrame:
    """The comparisons as a table, one row each (columns: the Comparison fields, also when there are none)."""
    columns = [field.name for field in fields(Comparison)]
    return pd.DataFrame([asdict(comparison) for comparison in comparisons], columns=columns)


def pareto_front(cost: pd.Series, score: pd.Series, higher_is_better: bool = True) -> pd.Series:
    """True for points no other point dominates (cost <= and score >=, strictly better in one); NaN points False."""
    # Written by hand: neither pandas nor scipy offers a Pareto (non-dominated) filter.
    gain = score if higher_is_better else -score
    valid = cost.notna() & score.notna()
    points = np.column_stack([cost[valid].to_numpy(float), gain[valid].to_numpy(float)])
    no_worse = (points[:, None, 0] <= points[None, :, 0]) & (points[:, None, 1] >= points[None, :, 1])
    better = (points[:, None, 0] < points[None, :, 0]) | (points[:, None, 1] > points[None, :, 1])
    dominated = (no_worse & better).any(axis=0)
    front = pd.Series(False, index=cost.index)
    front[valid] = ~dominated
    return front
