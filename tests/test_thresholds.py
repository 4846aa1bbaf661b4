"""8. The vectorised F-beta threshold search equals scikit-learn's metrics at every threshold (brute force)."""

import numpy as np
import pytest
from conftest import THRESHOLD_COLUMNS
from sklearn.metrics import confusion_matrix, fbeta_score

from transferlab.evaluation.thresholds import best_threshold, confusion_at_thresholds, fbeta_at, threshold_table

GRID = np.linspace(0.1, 0.9, 81)
BETAS = (0.5, 1, 2, 5)


def tied_scores(rng, n):
    """Scores with many ties, some of them exactly on grid thresholds."""
    coarse = rng.choice(np.round(np.linspace(0, 1, 21), 2), size=n)
    on_grid = rng.choice(GRID, size=n)
    return np.where(rng.random(n) < 0.5, coarse, on_grid)


def brute_counts(y, scores, threshold):
    tn, fp, fn, tp = confusion_matrix(y, (scores >= threshold).astype(int), labels=[0, 1]).ravel()
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def brute_fbeta(y, scores, beta, threshold):
    return fbeta_score(y, (scores >= threshold).astype(int), beta=beta, zero_division=0)


def brute_best(y, scores, beta):
    """The first grid threshold whose F-beta is maximal (ties within float rounding count as equal).
    scikit-learn's F-beta at every grid threshold in one call: one multilabel column per threshold
    (average=None), bit-for-bit brute_fbeta's values at a fraction of the cost of 81 calls."""
    predicted = (scores[:, None] >= GRID).astype(int)
    truth = np.repeat(np.asarray(y)[:, None], len(GRID), axis=1)
    values = fbeta_score(truth, predicted, beta=beta, average=None, zero_division=0)
    first = int(np.flatnonzero(values >= values.max() - 1e-12)[0])
    return GRID[first], values[first]


CASES = [
    pytest.param(seed, n, p, id=f"seed{seed}-n{n}-p{p}")
    for seed, n, p in [(0, 60, 0.3), (1, 200, 0.5), (2, 37, 0.1), (3, 500, 0.35), (4, 15, 0.6)]
]


@pytest.mark.parametrize(("seed", "n", "positive_rate"), CASES)
def test_confusion_at_thresholds_matches_sklearn(seed, n, positive_rate):
    rng = np.random.default_rng(seed)
    y, scores = (rng.random(n) < positive_rate).astype(int), tied_scores(rng, n)
    counts = confusion_at_thresholds(y, scores, GRID)
    for i, t in enumerate(GRID):
        expected = brute_counts(y, scores, t)
        assert {k: int(v[i]) for k, v in counts.items()} == expected, f"threshold {t}"


@pytest.mark.parametrize(("seed", "n", "positive_rate"), CASES)
@pytest.mark.parametrize("beta", BETAS)
def test_best_threshold_matches_brute_force(seed, n, positive_rate, beta):
    rng = np.random.default_rng(seed)
    y, scores = (rng.random(n) < positive_rate).astype(int), tied_scores(rng, n)
    threshold, value = best_threshold(y, scores, beta, GRID)
    expected_threshold, expected_value = brute_best(y, scores, beta)
    assert threshold == expected_threshold
    assert value == pytest.approx(expected_value, abs=1e-12)
    value_at, counts = fbeta_at(y, scores, beta, threshold)
    assert value_at == pytest.approx(expected_value, abs=1e-12)
    assert counts == brute_counts(y, scores, threshold)


def test_first_maximal_threshold_wins():
    # Every threshold in (0.25, 0.8] separates the classes perfectly: the lowest of them wins.
    y = np.array([0, 0, 0, 1, 1, 1])
    scores = np.array([0.1, 0.2, 0.25, 0.8, 0.85, 0.9])
    threshold, value = best_threshold(y, scores, 1, GRID)
    assert threshold == GRID[16] == pytest.approx(0.26) and value == 1.0
    assert (threshold, value) == brute_best(y, scores, 1)


@pytest.mark.parametrize("label", [0, 1])
def test_single_class_labels_follow_zero_division_0(label):
    rng = np.random.default_rng(7)
    y, scores = np.full(40, label), tied_scores(rng, 40)
    for beta in BETAS:
        threshold, value = best_threshold(y, scores, beta, GRID)
        assert (threshold, value) == pytest.approx(brute_best(y, scores, beta))


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_threshold_table_matches_brute_force(seed):
    rng = np.random.default_rng(seed)
    y_val, y_test = (rng.random(80) < 0.4).astype(int), (rng.random(120) < 0.4).astype(int)
    # Scores that carry signal, rounded to create ties.
    p_val = np.clip(np.round(0.3 * y_val + rng.random(80) * 0.7, 2), 0, 1)
    p_test = np.clip(np.round(0.3 * y_test + rng.random(120) * 0.7, 2), 0, 1)
    table = threshold_table(y_val, p_val, y_test, p_test, [1, 2, 5], GRID)

    assert list(table.columns) == THRESHOLD_COLUMNS
    assert list(table.beta) == [1, 2, 5]
    for row in table.itertuples():
        threshold, val_f = brute_best(y_val, p_val, row.beta)
        oracle_threshold, oracle_f = brute_best(y_test, p_test, row.beta)
        assert row.threshold == threshold and row.val_fbeta == pytest.approx(val_f, abs=1e-12)
        assert row.test_fbeta == pytest.approx(brute_fbeta(y_test, p_test, row.beta, threshold), abs=1e-12)
        assert {k: getattr(row, k) for k in ("tn", "fp", "fn", "tp")} == brute_counts(y_test, p_test, threshold)
        assert row.oracle_threshold == oracle_threshold and row.oracle_test_fbeta == pytest.approx(oracle_f, abs=1e-12)
        assert row.oracle_test_fbeta >= row.test_fbeta
