"""Evaluation figures (matplotlib, no display needed)."""
import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay  # noqa: E402


def confusion_matrices(y_true, probabilities, class_names, thresholds: dict[str, float]):
    """One confusion matrix per decision rule: argmax, and for binary tasks each chosen threshold."""
    rules = {"argmax / 0.5": probabilities.argmax(axis=1)}
    if probabilities.shape[1] == 2:
        rules.update({f"{name} @ {t:.2f}": (probabilities[:, 1] >= t).astype(int) for name, t in thresholds.items()})
    figure, axes = plt.subplots(1, len(rules), figsize=(4 * len(rules), 4.3), squeeze=False, layout="constrained")
    for ax, (title, predicted) in zip(axes[0], rules.items()):
        ConfusionMatrixDisplay.from_predictions(y_true, predicted, labels=np.arange(len(class_names)), display_labels=class_names, ax=ax, colorbar=False)
        ax.set_title(title)
    return figure


def roc_and_pr_curves(y_true, probabilities, class_names):
    """ROC and precision-recall curves (one-vs-rest per class for K > 2)."""
    figure, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
    classes = [1] if probabilities.shape[1] == 2 else range(probabilities.shape[1])
    for k in classes:
        positives = (np.asarray(y_true) == k).astype(int)
        RocCurveDisplay.from_predictions(positives, probabilities[:, k], name=class_names[k], ax=roc_ax)
        PrecisionRecallDisplay.from_predictions(positives, probabilities[:, k], name=class_names[k], ax=pr_ax)
    roc_ax.set_title("ROC (test)")
    pr_ax.set_title("Precision-recall (test)")
    return figure


def importance_bars(features, values, title: str, ylabel: str, errors=None):
    """Bar chart of per-feature importances, largest first (shared by the tabular explainers)."""
    order = np.argsort(-np.asarray(values))
    figure, ax = plt.subplots(figsize=(max(6, 0.35 * len(order)), 4), layout="constrained")
    ax.bar(range(len(order)), np.asarray(values)[order], yerr=None if errors is None else np.asarray(errors)[order])
    ax.set_xticks(range(len(order)))
    ax.set_xticklabels(np.asarray(features)[order], rotation=45, ha="right")
    ax.set_title(title)
    ax.set_ylabel(ylabel)
    return figure
