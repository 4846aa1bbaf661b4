"""Evaluation figures (matplotlib, no display needed)."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from matplotlib.ticker import MaxNLocator  # noqa: E402
from sklearn.metrics import ConfusionMatrixDisplay, PrecisionRecallDisplay, RocCurveDisplay  # noqa: E402


def confusion_matrices(y_true, probabilities, class_names, thresholds: dict[str, float]):
    """One confusion matrix per decision rule: argmax, and for binary tasks each chosen threshold."""
    rules = {"argmax / 0.5": probabilities.argmax(axis=1)}
    if probabilities.shape[1] == 2:
        rules.update({f"{name} @ {t:.2f}": (probabilities[:, 1] >= t).astype(int) for name, t in thresholds.items()})
    figure, axes = plt.subplots(1, len(rules), figsize=(4 * len(rules), 4.3), squeeze=False, layout="constrained")
    for ax, (title, predicted) in zip(axes[0], rules.items()):
        ConfusionMatrixDisplay.from_predictions(
            y_true, predicted, labels=np.arange(len(class_names)), display_labels=class_names, ax=ax, colorbar=False
        )
        ax.set_title(title)
    return figure


def roc_and_pr_curves(y_true, probabilities, class_names):
    """ROC and precision-recall curves (one-vs-rest, one curve per class for K > 2, its AUC in the
    legend; seed 002 section 7.9), with the chance diagonal on the ROC panel."""
    figure, (roc_ax, pr_ax) = plt.subplots(1, 2, figsize=(10, 4.5), layout="constrained")
    classes = [1] if probabilities.shape[1] == 2 else range(probabilities.shape[1])
    for i, k in enumerate(classes):
        positives = (np.asarray(y_true) == k).astype(int)
        RocCurveDisplay.from_predictions(
            positives, probabilities[:, k], name=class_names[k], ax=roc_ax, plot_chance_level=i == len(classes) - 1
        )
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


def deletion_curves(table):
    """Test ROC-AUC against the number of top-ranked features set to their training means, one curve
    per explainer (columns explainer, k, roc_auc); random baselines dashed grey."""
    figure, ax = plt.subplots(figsize=(7, 4.5), layout="constrained")
    for name, curve in table.groupby("explainer", sort=False):
        baseline = name.startswith("random")
        style = {"color": "0.5", "linestyle": "--"} if baseline else {"marker": "o", "markersize": 3}
        ax.plot(curve.k, curve.roc_auc, label=name, **style)
    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel("top-k features replaced by their training mean")
    ax.set_ylabel("test ROC-AUC")
    ax.set_title("Deletion curves: the faster the fall, the more faithful the ranking")
    ax.legend()
    return figure


def subgroup_bars(tables: dict, overall: float, min_count: int):
    """The subgroup report's chart: one panel per attribute column (table), test macro-F1 per group
    with its row count; groups below min_count grey and hatched."""
    heights = [max(1.2, 0.35 * len(table) + 0.6) for table in tables.values()]
    figure, axes = plt.subplots(
        len(tables), 1, figsize=(7, sum(heights) + 0.6), height_ratios=heights, squeeze=False, layout="constrained"
    )
    for ax, (column, table) in zip(axes[:, 0], tables.items()):
        positions = np.arange(len(table))[::-1]  # first group on top
        bars = ax.barh(positions, table.macro_f1, color=np.where(table.in_gap, "tab:blue", "lightgray"))
        for bar, large in zip(bars, table.in_gap):
            bar.set_hatch(None if large else "//")
        ax.bar_label(bars, [f"{f:.2f} (n={n})" for f, n in zip(table.macro_f1, table["count"])], padding=3, fontsize=8)
        ax.axvline(overall, color="0.3", linestyle="--", linewidth=1, zorder=0)
        ax.set_yticks(positions, table.group.astype(str))
        ax.set_xlim(0, 1.18)
        ax.set_title(column, loc="left", fontsize=10)
    axes[-1, 0].set_xlabel(f"test macro-F1 (dashed: all rows, {overall:.2f}; hatched: fewer than {min_count} rows)")
    return figure


def show_image(ax, image) -> None:
    """Draw one raw image (pixel values 0..255, one or three channels) without axes."""
    image = np.clip(np.asarray(image, dtype="float64") / 255.0, 0.0, 1.0)
    if image.shape[-1] == 1:
        ax.imshow(image[..., 0], cmap="gray", vmin=0.0, vmax=1.0)
    else:
        ax.imshow(image)
    ax.axis("off")


def example_predictions(images, y_true, probabilities, class_names, n: int = 16):
    """The first n test images with predicted class and confidence: green when right, red when wrong
    (seed 004's sample grid)."""
    n = min(n, len(images))
    columns = min(n, 8)
    rows = -(-n // columns)
    figure, axes = plt.subplots(rows, columns, figsize=(1.6 * columns, 1.9 * rows), squeeze=False, layout="constrained")
    predicted = probabilities.argmax(axis=1)
    for i, ax in enumerate(axes.flat):
        if i >= n:
            ax.axis("off")
            continue
        show_image(ax, images[i])
        right = predicted[i] == y_true[i]
        ax.set_title(
            f"pred {class_names[predicted[i]]} ({probabilities[i, predicted[i]]:.0%})\ntrue {class_names[y_true[i]]}",
            fontsize=8,
            color="green" if right else "red",
        )
    return figure


def training_curves(history: dict[str, list[float]], title: str):
    """Loss and (when logged) accuracy per epoch, training and validation (seed 004 section 7)."""
    panels = [name for name in ("loss", "accuracy") if name in history]
    figure, axes = plt.subplots(1, len(panels), figsize=(5 * len(panels), 3.8), squeeze=False, layout="constrained")
    for ax, name in zip(axes[0], panels):
        epochs = np.arange(1, len(history[name]) + 1)
        ax.plot(epochs, history[name], marker="o", label="train")
        if f"val_{name}" in history:
            ax.plot(epochs, history[f"val_{name}"], marker="o", label="validation")
        ax.set_xlabel("epoch")
        ax.set_ylabel(name)
        ax.legend()
    figure.suptitle(title)
    return figure
