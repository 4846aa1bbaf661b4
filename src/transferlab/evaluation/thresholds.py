"""F-beta threshold search (seed 000's comp_fbeta), vectorised over all candidate thresholds."""

import numpy as np
import pandas as pd


def threshold_grid(start: float, stop: float, num: int) -> np.ndarray:
    return np.linspace(start, stop, num)


def confusion_at_thresholds(y_true, scores, thresholds) -> dict[str, np.ndarray]:
    """tn, fp, fn, tp of `scores >= t` for every t, from one sort instead of one pass per t."""
    y_true = np.asarray(y_true).astype(bool)
    order = np.argsort(scores, kind="stable")
    sorted_scores = np.asarray(scores)[order]
    positives_below = np.concatenate([[0], np.cumsum(y_true[order])])  # positives among the k lowest
    below = np.searchsorted(sorted_scores, thresholds, side="left")  # rows predicted negative
    fn = positives_below[below]
    tp = y_true.sum() - fn
    tn = below - fn
    fp = len(y_true) - below - tp
    return {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def fbeta_from_counts(tp, fp, fn, beta: float) -> np.ndarray:
    """F-beta with sklearn's zero_division=0 convention."""
    b2 = beta**2
    denominator = (1 + b2) * tp + b2 * fn + fp
    return np.divide((1 + b2) * tp, denominator, out=np.zeros(np.shape(tp), dtype=float), where=denominator > 0)


def best_threshold(y_true, scores, beta: float, thresholds) -> tuple[float, float]:
    """The first threshold of the grid with the highest F-beta, and that F-beta."""
    counts = confusion_at_thresholds(y_true, scores, thresholds)
    scores_f = fbeta_from_counts(counts["tp"], counts["fp"], counts["fn"], beta)
    best = int(np.argmax(scores_f))
    return float(thresholds[best]), float(scores_f[best])


def fbeta_at(y_true, scores, beta: float, threshold: float) -> tuple[float, dict[str, int]]:
    counts = {k: int(v[0]) for k, v in confusion_at_thresholds(y_true, scores, np.array([threshold])).items()}
    return float(fbeta_from_counts(counts["tp"], counts["fp"], counts["fn"], beta)), counts


def threshold_table(y_val, p_val, y_test, p_test, betas, thresholds) -> pd.DataFrame:
    """Per beta: threshold chosen on validation, its test F-beta and confusion counts, and the
    test-optimal ("oracle", as seed 000 reports) threshold and F-beta for comparison."""
    rows = []
    for beta in betas:
        threshold, val_f = best_threshold(y_val, p_val, beta, thresholds)
        test_f, counts = fbeta_at(y_test, p_test, beta, threshold)
        oracle_threshold, oracle_f = best_threshold(y_test, p_test, beta, thresholds)
        rows.append(
            {
                "beta": beta,
                "threshold": threshold,
                "val_fbeta": val_f,
                "test_fbeta": test_f,
                **counts,
                "oracle_threshold": oracle_threshold,
                "oracle_test_fbeta": oracle_f,
            }
        )
    return pd.DataFrame(rows)
