"""The run-comparison statistics, against values worked out by hand on small made-up runs."""

import math

import numpy as np
import pandas as pd
import pytest
import scipy.stats

from transferlab.reporting.statistics import (
    Comparison,
    compare_to_baseline,
    comparisons_frame,
    group_labels,
    pareto_front,
    summarize_groups,
)

T_975_2 = 4.302653  # t quantile 0.975 with 2 degrees of freedom, from a printed table


def runs(scores: dict[str, dict[int, float]]) -> pd.DataFrame:
    """One run per (arm, seed) with metric `score`, seeds as strings like MLflow params."""
    return pd.DataFrame(
        [
            {"run_id": f"{arm}-{seed}", "tags.arm": arm, "params.trainer.seed": str(seed), "metrics.score": value}
            for arm, values in scores.items()
            for seed, value in values.items()
        ]
    )


def only(comparisons: list[Comparison]) -> Comparison:
    """The single comparison of a one-group, one-metric call."""
    assert len(comparisons) == 1
    return comparisons[0]


def test_summary_mean_std_and_t_interval_by_hand():
    table = runs({"A": {1: 1.0, 2: 2.0, 3: 3.0}, "B": {1: 5.0}})
    summary = summarize_groups(table, ["tags.arm"], ["score", "absent"]).set_index("group")
    a = summary.loc["A"]
    assert (a["metric"], a["n"], a["mean"], a["std"], a["min"], a["max"]) == ("score", 3, 2.0, 1.0, 1.0, 3.0)
    assert a["ci_low"] == pytest.approx(2 - T_975_2 / math.sqrt(3), abs=1e-6)
    assert a["ci_high"] == pytest.approx(2 + T_975_2 / math.sqrt(3), abs=1e-6)
    b = summary.loc["B"]
    assert b["n"] == 1 and b["mean"] == 5.0 and math.isnan(b["ci_low"]) and math.isnan(b["ci_high"])
    assert list(summary.index) == ["A", "B"]  # the absent metric gives no rows


def test_summary_leaves_nan_runs_out_and_sorts_groups():
    table = runs({"b": {1: 1.0, 2: np.nan, 3: 3.0}, "a": {1: 4.0, 2: 4.0}})
    summary = summarize_groups(table, ["tags.arm"], ["score"])
    assert list(summary["group"]) == ["a", "b"]
    b = summary.set_index("group").loc["b"]
    assert b["n"] == 2 and b["mean"] == 2.0
    a = summary.set_index("group").loc["a"]
    assert a["std"] == 0.0 and a["ci_low"] == a["ci_high"] == 4.0  # zero spread: the t interval is the mean


def test_bootstrap_interval_holds_the_mean_and_repeats_with_the_seed():
    table = runs({"A": {1: 1.0, 2: 2.0, 3: 3.0, 4: 4.0, 5: 10.0}, "C": {1: 2.0, 2: 2.0}})
    first = summarize_groups(table, ["tags.arm"], ["score"], interval="bootstrap", seed=7).set_index("group")
    again = summarize_groups(table, ["tags.arm"], ["score"], interval="bootstrap", seed=7).set_index("group")
    other = summarize_groups(table, ["tags.arm"], ["score"], interval="bootstrap", seed=8).set_index("group")
    a = first.loc["A"]
    assert a["ci_low"] < a["mean"] == 4.0 < a["ci_high"]
    assert 1.0 <= a["ci_low"] and a["ci_high"] <= 10.0  # a percentile interval of resampled means stays in range
    assert (a["ci_low"], a["ci_high"]) == (again.loc["A", "ci_low"], again.loc["A", "ci_high"])
    assert (a["ci_low"], a["ci_high"]) != (other.loc["A", "ci_low"], other.loc["A", "ci_high"])
    assert math.isnan(first.loc["C", "ci_low"]) and math.isnan(first.loc["C", "ci_high"])  # zero spread


def test_unknown_interval_is_refused():
    table = runs({"A": {1: 1.0}, "B": {1: 2.0}})
    with pytest.raises(ValueError, match="wald"):
        summarize_groups(table, ["tags.arm"], ["score"], interval="wald")
    with pytest.raises(ValueError, match="wald"):
        compare_to_baseline(table, ["tags.arm"], "A", ["score"], interval="wald")


def test_labels_over_two_columns_name_each_key_and_missing_values():
    table = pd.DataFrame(
        {
            "params.strategy.name": ["finetune", "frozen", None],
            "params.model.name": ["mlp", np.nan, "cnn"],
            "tags.arm": ["x", "y", None],
        }
    )
    assert list(group_labels(table, ["params.strategy.name", "params.model.name"])) == [
        "strategy.name=finetune, model.name=mlp",
        "strategy.name=frozen, model.name=None",
        "strategy.name=None, model.name=cnn",
    ]
    assert list(group_labels(table, ["tags.arm"])) == ["x", "y", "None"]


def test_paired_difference_by_seed():
    a = {1: 1.0, 2: 2.0, 3: 3.0}
    table = runs({"A": a, "B": {seed: value + step for (seed, value), step in zip(a.items(), [0.1, 0.2, 0.3])}})
    c = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"]))
    assert (c.group, c.baseline, c.metric, c.paired, c.n, c.n_baseline) == ("B", "A", "score", True, 3, 3)
    assert c.mean_difference == pytest.approx(0.2)
    assert c.ci_low == pytest.approx(0.2 - T_975_2 * 0.1 / math.sqrt(3), abs=1e-6)
    assert c.ci_high == pytest.approx(0.2 + T_975_2 * 0.1 / math.sqrt(3), abs=1e-6)
    assert (c.group_better, c.baseline_better, c.ties) == (3, 0, 0)
    assert c.test == "Wilcoxon signed-rank"
    assert c.p_value == pytest.approx(2 / 8)  # exact: all 3 ranks positive, or all negative, of 2**3 sign patterns
    assert c.note == ""


def test_wilcoxon_p_value_of_five_positive_differences():
    a = {seed: float(seed) for seed in range(1, 6)}
    table = runs({"A": a, "B": {seed: value + seed / 10 for seed, value in a.items()}, "C": a})
    c = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"], compared=["B"]))
    assert (c.n, c.group_better) == (5, 5)
    assert c.p_value == pytest.approx(2 / 32)  # exact signed-rank distribution: 2 extreme patterns of 2**5


def test_several_runs_of_a_seed_count_as_their_mean():
    table = pd.concat([runs({"A": {1: 1.0, 2: 2.0}, "B": {1: 1.1, 2: 2.5}}), runs({"B": {1: 1.3}})])
    c = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"]))
    assert c.n == 2
    assert c.mean_difference == pytest.approx(((1.2 - 1.0) + (2.5 - 2.0)) / 2)


def test_seeds_on_one_side_are_left_out_and_counted():
    table = runs({"A": {1: 1.0, 2: 2.0, 3: 3.0, 4: 9.0}, "B": {1: 2.0, 2: 3.0, 3: 4.0, 5: 0.0}})
    c = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"]))
    assert c.paired and c.n == c.n_baseline == 3
    assert c.mean_difference == pytest.approx(1.0)
    assert c.note == "2 of 5 seeds unpaired, left out"


def test_disjoint_seeds_fall_back_to_unpaired():
    table = runs({"A": {1: 1.0, 2: 2.0, 3: 3.0}, "B": {4: 4.0, 5: 5.0, 6: 7.0}})
    c = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"]))
    assert not c.paired and (c.n, c.n_baseline) == (3, 3)
    assert c.mean_difference == pytest.approx(16 / 3 - 2)
    assert (c.group_better, c.baseline_better, c.ties) == (0, 0, 0)
    assert c.test == "Mann-Whitney U"
    assert c.p_value == pytest.approx(2 / 20)  # exact: B above A in 1 of C(6, 3) = 20 orderings, two-sided
    assert "no common seed: unpaired comparison" in c.note
    # Welch: variances 1 and 7/3, standard error sqrt(1/3 + 7/9), Welch-Satterthwaite degrees of freedom.
    se2_a, se2_b = 1 / 3, 7 / 9
    df = (se2_a + se2_b) ** 2 / (se2_a**2 / 2 + se2_b**2 / 2)
    half_width = scipy.stats.t.ppf(0.975, df) * math.sqrt(se2_a + se2_b)
    assert (c.ci_low, c.ci_high) == pytest.approx((16 / 3 - 2 - half_width, 16 / 3 - 2 + half_width))


def test_unpaired_bootstrap_interval_holds_the_difference():
    table = runs({"A": {1: 1.0, 2: 2.0, 3: 3.0}, "B": {4: 4.0, 5: 5.0, 6: 7.0}})
    first = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"], interval="bootstrap", seed=3))
    again = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"], interval="bootstrap", seed=3))
    assert first.ci_low < first.mean_difference < first.ci_high
    assert (first.ci_low, first.ci_high) == (again.ci_low, again.ci_high)


def test_all_zero_differences_run_no_test():
    table = runs({"A": {1: 1.0, 2: 2.0, 3: 3.0}, "B": {1: 1.0, 2: 2.0, 3: 3.0}})
    c = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"]))
    assert c.paired and c.ties == 3 and c.mean_difference == 0.0
    assert c.test.startswith("none") and math.isnan(c.p_value)
    assert "all differences are zero" in c.note


def test_a_single_pair_runs_no_test():
    table = runs({"A": {1: 1.0}, "B": {1: 2.0}})
    c = only(compare_to_baseline(table, ["tags.arm"], "A", ["score"]))
    assert c.paired and c.n == 1 and c.mean_difference == 1.0
    assert c.test == "none (n < 2)" and math.isnan(c.p_value) and math.isnan(c.ci_low)
    assert "fewer than 2 pairs" in c.note


def test_unknown_baseline_names_it_and_the_groups():
    table = runs({"A": {1: 1.0}, "B": {1: 2.0}})
    with pytest.raises(ValueError, match=r"'Z'.*'A', 'B'"):
        compare_to_baseline(table, ["tags.arm"], "Z", ["score"])


def test_metrics_missing_for_both_groups_are_skipped():
    table = runs({"A": {1: 1.0, 2: 2.0}, "B": {1: 2.0, 2: 3.0}, "C": {1: 0.0}}).assign(**{"metrics.auc": np.nan})
    table.loc[table["tags.arm"] == "C", "metrics.auc"] = 0.5
    comparisons = compare_to_baseline(table, ["tags.arm"], "A", ["score", "auc", "absent"])
    assert [(c.group, c.metric) for c in comparisons] == [("B", "score"), ("C", "score"), ("C", "auc")]


def test_comparisons_frame_has_the_fields_as_columns():
    table = runs({"A": {1: 1.0, 2: 2.0}, "B": {1: 2.0, 2: 4.0}})
    frame = comparisons_frame(compare_to_baseline(table, ["tags.arm"], "A", ["score"]))
    assert frame.loc[0, "mean_difference"] == 1.5 and frame.loc[0, "group"] == "B"
    empty = comparisons_frame([])
    assert empty.empty and list(empty.columns) == list(frame.columns)
    assert list(frame.columns)[:4] == ["group", "baseline", "metric", "paired"]


def test_pareto_front_with_a_dominated_point_a_tie_and_nan():
    cost = pd.Series([0.5, 1.0, 2.0, 2.0, 2.0, 3.0, np.nan, 4.0], index=list("abcdefgh"))
    score = pd.Series([0.4, 0.5, 0.8, 0.8, 0.6, 0.8, 0.9, np.nan], index=list("abcdefgh"))
    # c and d tie (neither strictly better); e is dominated by c, f by c (same score, more cost); g, h are NaN.
    front = pareto_front(cost, score)
    assert front.to_dict() == dict(a=True, b=True, c=True, d=True, e=False, f=False, g=False, h=False)
    # With lower scores better, the cheapest point dominates every other one at or above its score.
    assert list(pareto_front(cost, score, higher_is_better=False)[front.index]) == [True] + [False] * 7
