"""The report's PNG charts: a metric per group, a metric against cost with the Pareto frontier marked,
and per-epoch curves with a band over seeds."""

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as ticker  # noqa: E402
import pandas as pd  # noqa: E402

from transferlab.reporting.numbers import number  # noqa: E402
from transferlab.reporting.statistics import pareto_front  # noqa: E402

COST_LABELS = {"trainable_params": "trainable parameters", "train_seconds": "training seconds"}


def save_bar_chart(summary: pd.DataFrame, metric: str, group_by: str, path: Path) -> None:
    """One bar per group: the mean of `metric`, its 95% interval as the error bar, the value on top."""
    stats = summary[summary["metric"] == metric].sort_values("mean")
    figure, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(stats)), 4), layout="constrained")
    has_interval = stats["ci_low"].notna()
    spread = [
        (stats["mean"] - stats["ci_low"]).where(has_interval, 0),
        (stats["ci_high"] - stats["mean"]).where(has_interval, 0),
    ]
    bars = ax.bar(stats["group"].astype(str), stats["mean"], yerr=spread if has_interval.any() else None, capsize=4)
    ax.bar_label(bars, labels=[number(v) for v in stats["mean"]], padding=3)
    low = stats["ci_low"].fillna(stats["min"]).min()
    ax.set_ylim(min(low * 0.98, 1.0) if metric.endswith("accuracy") else 0, None)
    ax.set_ylabel(f"{metric} (mean, 95% interval)")
    ax.set_xlabel(group_by)
    ax.tick_params(axis="x", labelrotation=20)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def cost_tick(value: float, _position) -> str:
    """1,000 and 100,000 on a cost axis, not 1e+03."""
    return f"{value:,.0f}" if value >= 10 else f"{value:.3g}"


def save_pareto_chart(summary: pd.DataFrame, metric: str, costs: list[str], higher_is_better: bool, path: Path) -> None:
    """One panel per cost: each group's mean `metric` against its mean cost (log scale), the groups no
    other group beats on both joined by the frontier line."""
    figure, axes = plt.subplots(1, len(costs), figsize=(5.5 * len(costs), 4.2), layout="constrained", squeeze=False)
    score = summary[summary["metric"] == metric].set_index("group")["mean"]
    for ax, cost_name in zip(axes[0], costs):
        cost = summary[summary["metric"] == cost_name].set_index("group")["mean"].reindex(score.index)
        front = pareto_front(cost, score, higher_is_better)
        ax.scatter(cost[~front], score[~front], color="tab:gray", label="dominated")
        ax.scatter(cost[front], score[front], color="tab:red", zorder=3, label="Pareto frontier")
        ax.plot(cost[front].sort_values(), score[front][cost[front].sort_values().index], color="tab:red")
        for group in score.index:
            ax.annotate(str(group), (cost[group], score[group]), textcoords="offset points", xytext=(4, 4), fontsize=8)
        wide = cost.max() > 20 * cost.min() > 0  # a log axis when costs span orders of magnitude
        if wide:
            ax.set_xscale("log")
            ax.xaxis.set_minor_formatter(ticker.NullFormatter())
        ax.xaxis.set_major_formatter(ticker.FuncFormatter(cost_tick))
        ax.set_xlabel(COST_LABELS.get(cost_name, cost_name) + (" (mean, log scale)" if wide else " (mean)"))
        ax.set_ylabel(f"{metric} (mean)")
        ax.legend(loc="best", fontsize=8)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def save_curves_chart(curves: pd.DataFrame, metrics: list[str], path: Path) -> None:
    """One panel per metric: a line per group (mean over its jobs per epoch) and a ± std band."""
    present = [m for m in metrics if m in set(curves["metric"])]
    figure, axes = plt.subplots(1, len(present), figsize=(5.5 * len(present), 4), layout="constrained", squeeze=False)
    for ax, metric in zip(axes[0], present):
        for group, points in curves[curves["metric"] == metric].groupby("group"):
            line = ax.plot(points["epoch"], points["mean"], label=str(group))[0]
            band = points["std"].fillna(0)
            ax.fill_between(
                points["epoch"], points["mean"] - band, points["mean"] + band, alpha=0.2, color=line.get_color()
            )
        ax.set_xlabel("epoch (of the stage that trained the final model)")
        ax.set_ylabel(f"{metric} (mean ± std over seeds)")
        ax.legend(fontsize=8)
    figure.savefig(path, dpi=120)
    plt.close(figure)
