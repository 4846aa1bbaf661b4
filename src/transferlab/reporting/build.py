"""One comparison report from a run selection: tables, paired statistics, charts, the HTML page."""

from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd
from mlflow import MlflowClient

from transferlab.errors import ConfigError
from transferlab.reporting import charts, curves, tables
from transferlab.reporting.grouping import baseline_label, group_columns, key_name
from transferlab.reporting.html_page import html_page
from transferlab.reporting.numbers import markdown_rows
from transferlab.reporting.selection import RunSelection, SelectedRuns, select_runs
from transferlab.reporting.statistics import (
    INTERVALS,
    compare_to_baseline,
    comparisons_frame,
    group_labels,
    summarize_groups,
)
from transferlab.tracking.redaction import redact_uri

if TYPE_CHECKING:  # imported where used: only study pages with explanations need it
    from transferlab.explanation_report import ExplanationSettings

SEED = "params.trainer.seed"
# Cost metrics every job logs; the report adds them to the chosen metrics when the runs have them.
COSTS = ("trainable_params", "total_params", "train_seconds", "memory_peak_mb")
PARETO_COSTS = ("trainable_params", "train_seconds")
LOWER_IS_BETTER = ("loss", "error", "seconds", "_mb", "params")


@dataclass(frozen=True)
class ReportRequest:
    """What to read and how to compare it; a study preset's `report:` block fills one (see report.py)."""

    name: str
    selection: RunSelection
    group_by: tuple[str, ...] = ("arm",)
    metrics: tuple[str, ...] = ()  # empty: every test_* metric the runs logged
    baselines: tuple[str, ...] = ()  # `key=value` (or a bare group label) per baseline group
    compared: tuple[str, ...] = ()  # empty: every other group
    baseline_metrics: tuple[str, ...] = ()  # empty: the metrics
    interval: str = "t"
    chart: str | None = None
    pareto: str | None = None  # the metric charted against cost; None: the first metric; "none": no chart
    curves: tuple[str, ...] = ("val_loss", "val_accuracy")
    derived: dict[str, str] = field(default_factory=dict)
    notes: str = ""
    reference: dict | None = None
    reference_notes: str = ""
    planned: tuple[str, ...] = ()  # groups the sweep was meant to produce, to name those with no run
    explanations: "ExplanationSettings | None" = None
    command: str = "transferlab-report"


def higher_is_better(metric: str) -> bool:
    return not any(part in metric for part in LOWER_IS_BETTER)


def add_derived(runs: pd.DataFrame, derived: dict[str, str]) -> pd.DataFrame:
    """Per-run metrics computed from logged ones, e.g. {"train_minutes": "train_seconds / 60"}
    (pandas.eval expressions over metric names)."""
    metrics = runs[[c for c in runs if c.startswith("metrics.")]].rename(columns=lambda c: c.removeprefix("metrics."))
    return runs.assign(**{f"metrics.{name}": metrics.eval(expression) for name, expression in derived.items()})


def run_commits(runs: pd.DataFrame) -> list[str]:
    """The commits the runs ran at, `-dirty` where tracked files had changes (MLflow's commit tag and
    our git_dirty; runs logged before 2026-12-03 carry both in a git_commit tag)."""
    if "tags.mlflow.source.git.commit" in runs:
        dirty = runs.get("tags.git_dirty", pd.Series("false", index=runs.index)).eq("true")
        labels = runs["tags.mlflow.source.git.commit"] + dirty.map({True: "-dirty", False: ""})
    else:
        labels = runs.get("tags.git_commit", pd.Series(dtype=str))
    return sorted(labels.dropna().unique()) or ["unknown"]


def chosen_metrics(runs: pd.DataFrame, request: ReportRequest) -> tuple[list[str], list[str]]:
    """The request's metrics (or every test_* metric) and the cost metrics present besides; ConfigError when
    no selected run logged any of the request's metrics."""
    logged = {c.removeprefix("metrics.") for c in runs if c.startswith("metrics.") and runs[c].notna().any()}
    metrics = list(request.metrics) or sorted(m for m in logged if m.startswith("test_"))
    unknown = [m for m in metrics if m not in logged]
    if unknown and len(unknown) == len(metrics):
        raise ConfigError(
            "--metrics", ",".join(unknown), f"no selected run logged them; they logged: {', '.join(sorted(logged))}"
        )
    return metrics, [c for c in COSTS if c in logged and c not in metrics]


def runs_table(runs: pd.DataFrame, labels: pd.Series) -> pd.DataFrame:
    """The runs CSV: run id, experiment, start time, group, seed, commit, tags naming the arm, and every metric."""
    front = ["run_id", "experiment_id", "start_time"]
    keep = [
        c
        for c in runs
        if c.startswith(("tags.arm", "tags.model", "tags.strategy", "tags.mlflow.source.git.commit", "tags.git_dirty"))
        or c in ("tags.git_commit", "tags.study", "tags.sweep_dir", SEED)
    ]
    metrics = sorted(c for c in runs if c.startswith("metrics."))
    return runs[front].assign(group=labels.values).join(runs[keep + metrics])


def provenance(request: ReportRequest, selected: SelectedRuns, client: MlflowClient) -> str:
    """The line saying which runs produced the report: the command, store, exact selection and commits."""
    runs, experiments = selected.jobs, ", ".join(selected.experiment_ids)
    return (
        f"Generated by `{request.command}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC from {len(runs)} "
        f"finished job runs in `{redact_uri(client.tracking_uri)}` (experiment ids {experiments}), "
        f"selected as: {request.selection.describe()}. Commits: {', '.join(run_commits(runs))}. "
        "Run ids: the Runs section below and the runs CSV."
    )


def missing_groups_note(labels: pd.Series, planned: tuple[str, ...]) -> list[str]:
    """A line naming the sweep's groups with no finished run (e.g. arms that need a download)."""
    missing = [group for group in planned if group not in set(labels)]
    return [f"Not in this table (no finished run in the selection): {', '.join(missing)}."] if missing else []


def comparison_section(runs, columns, labels, metrics, request: ReportRequest, header: str) -> tuple[list[str], list]:
    """The paired comparisons against each baseline, as Markdown, and their rows."""
    if not request.baselines:
        return [], []
    # a preset's compared arms that did not run are named by missing_groups_note, not compared
    compared = [group for group in request.compared if group in set(labels)] or None
    comparisons = []
    for text in request.baselines:
        label = baseline_label(text, columns)
        if label not in set(labels):
            raise ConfigError("--baseline", text, f"no such group; the groups are: {', '.join(sorted(set(labels)))}")
        comparisons += compare_to_baseline(
            runs, columns, label, list(request.baseline_metrics) or metrics, SEED, request.interval, compared=compared
        )
    fallbacks = sorted({c.note for c in comparisons if c.note})
    text = (
        f"## Against {', '.join(request.baselines)}, paired by seed\n\n"
        f"Difference = group − baseline per training seed (`{SEED}`; the same seed means the same data split and, "
        "in transfer studies, the same source model); its mean and 95% interval "
        f"({request.interval}), how many seeds favour each side, and a two-sided Wilcoxon signed-rank test "
        "(scipy; with n pairs and no ties its smallest p is 2/2^n: 0.0625 for 5 seeds, so 5 of 5 seeds favouring "
        "a side is as strong as 5 seeds can say). Without a common seed the comparison is unpaired "
        "(Mann-Whitney U, Welch interval) and says so."
        + ("\n\nNotes: " + "; ".join(fallbacks) + "." if fallbacks else "")
        + "\n\n"
        + tables.comparisons_table(comparisons, header)
    )
    return [text], comparisons


def pareto_section(summary: pd.DataFrame, metric: str, name: str, staging: Path) -> list[str]:
    """The metric against each cost the runs logged, the frontier marked, as a chart and a list."""
    costs = [c for c in PARETO_COSTS if c in set(summary["metric"])]
    if not costs or metric not in set(summary["metric"]):
        return []
    path = f"{name}_pareto.png"
    charts.save_pareto_chart(summary, metric, costs, higher_is_better(metric), staging / path)
    score = summary[summary["metric"] == metric].set_index("group")["mean"]
    lines = []
    for cost in costs:
        cost_means = summary[summary["metric"] == cost].set_index("group")["mean"].reindex(score.index)
        front = charts.pareto_front(cost_means, score, higher_is_better(metric))
        lines.append(f"- against {cost}: {', '.join(sorted(map(str, score.index[front])))}")
    return [
        f"## Cost: {metric} against trainable parameters and training time\n\n"
        f"Group means; a group is on the Pareto frontier (red) when no other group has a better {metric} "
        "at a lower or equal cost.\n\n" + "\n".join(lines) + f"\n\n![{metric} against cost]({path})"
    ]


def curves_section(
    client, selected: SelectedRuns, labels: pd.Series, request: ReportRequest, name, staging
) -> list[str]:
    """Per-epoch validation curves per group from the stage runs (mean ± std band over seeds)."""
    if not request.curves or selected.stages.empty:
        return []
    points = curves.read_curves(client, selected.stages, list(request.curves))
    if points.empty:
        return []
    grouped = curves.group_curves(points, pd.Series(labels.values, index=selected.jobs["run_id"]))
    path = f"{name}_curves.png"
    charts.save_curves_chart(grouped, list(request.curves), staging / path)
    return [
        "## Curves\n\nPer epoch of the stage that trained each job's final model (its last stage run): the mean "
        "over the group's seeds, the band ± one std; where early stopping ended some runs sooner, later "
        f"epochs average fewer runs.\n\n![validation curves]({path})"
    ]


def runs_section(runs: pd.DataFrame, labels: pd.Series, header: str) -> str:
    """Every selected run id per group, with its seed and commit."""
    commit = runs.get("tags.mlflow.source.git.commit", runs.get("tags.git_commit", pd.Series("", index=runs.index)))
    seed = runs.get(SEED, pd.Series("", index=runs.index))
    rows = [
        [label, f"`{run_id}`", str(s), str(c)[:12]]
        for label, run_id, s, c in sorted(zip(labels, runs["run_id"], seed, commit.fillna("")), key=lambda r: r[:3])
    ]
    return "## Runs\n\n" + markdown_rows([header, "run id", "seed", "commit"], rows)


def build_report(client: MlflowClient, request: ReportRequest, staging: Path) -> tuple[str, SelectedRuns]:
    """Read the selection, write every output into `staging` (page, CSVs, charts, HTML); the Markdown and the runs."""
    if request.interval not in INTERVALS:
        raise ConfigError("--interval", request.interval, f"must be one of {', '.join(INTERVALS)}")
    selected = select_runs(client, request.selection)
    runs = add_derived(selected.jobs, request.derived)
    columns = group_columns(runs, list(request.group_by))
    header = ", ".join(key_name(c) for c in columns)
    labels = group_labels(runs, columns)
    compared_metrics, costs = chosen_metrics(runs, request)
    metrics = compared_metrics + costs
    summary = summarize_groups(runs, columns, metrics, request.interval)
    name = request.name
    sections = [
        f"# {name}: results",
        provenance(request, selected, client),
        request.notes.strip(),
        f"Mean ± std over the runs of each {header}; n, min, max and the 95% interval of each mean "
        f"({request.interval}) in the Statistics section.\n\n" + tables.wide_table(summary, metrics, header),
        *missing_groups_note(labels, request.planned),
    ]
    if request.chart:
        charts.save_bar_chart(summary, request.chart, header, staging / f"{name}_{request.chart}.png")
        sections.append(f"![{request.chart} per {header}]({name}_{request.chart}.png)")
    comparison_text, comparisons = comparison_section(runs, columns, labels, compared_metrics, request, header)
    sections += comparison_text
    if request.pareto != "none":
        sections += pareto_section(summary, request.pareto or metrics[0], name, staging)
    sections += curves_section(client, selected, labels, request, name, staging)
    if request.reference or request.reference_notes:
        sections.append(
            "## Against the original study\n\n"
            + request.reference_notes.strip()
            + ("\n\n" + tables.reference_table(summary, request.reference) if request.reference else "")
        )
    if request.explanations:
        from transferlab.explanation_report import explanations_section

        sections.append(
            explanations_section(runs, columns[0], request.explanations, client, staging, f"{name}_figures")
        )
    sections += [
        "## Statistics\n\n" + tables.statistics_table(summary, header, request.interval),
        runs_section(runs, labels, header),
    ]
    text = "\n\n".join(s for s in sections if s)
    (staging / f"{name}_results.md").write_text(text + "\n")
    runs_table(runs, labels).to_csv(staging / f"{name}_runs.csv", index=False)
    summary.to_csv(staging / f"{name}_summary.csv", index=False)
    if comparisons:
        comparisons_frame(comparisons).to_csv(staging / f"{name}_comparisons.csv", index=False)
    (staging / f"{name}_report.html").write_text(html_page(f"{name}: results", text, staging))
    return text, selected
