"""Study results tables, read back from MLflow (never typed by hand).

    python -m transferlab.report pima_transfer            # latest sweep of the study
    python -m transferlab.report pima_transfer --all-sweeps

Reads the finished job runs tagged `study=<name>`, groups them as the study's `report` block in
experiments/<name>.yaml says, and writes experiments/<name>_results.md and _runs.csv (and, when the
block names a `chart` metric, a bar chart experiments/<name>_<metric>.png; with `explanations`, the
top features per explainer, their stability over seeds, agreement and faithfulness, and figures copied
to experiments/<name>_figures/, see explanation_report.py). Bad input: one `error: ...` line, exit 2.
"""

import argparse
import os
import shutil
import sys
import tempfile
from datetime import datetime, timezone
from pathlib import Path

import hydra
import mlflow
import pandas as pd
from omegaconf import OmegaConf

from transferlab import PROJECT_ROOT
from transferlab.errors import ConfigError

EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"
DEFAULT_URI = os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{PROJECT_ROOT}/mlflow.db")


def study_runs(study: str, tracking_uri: str, all_sweeps: bool = False) -> pd.DataFrame:
    """Finished parent (job) runs of the study; by default only those of its latest sweep."""
    mlflow.set_tracking_uri(tracking_uri)
    runs = mlflow.search_runs(
        search_all_experiments=True, filter_string=f"tags.study = '{study}' and attributes.status = 'FINISHED'"
    )
    if runs.empty:
        raise ConfigError(
            "study", study, f"no finished runs in {tracking_uri}; run `python run.py experiment={study}` first"
        )
    if "tags.mlflow.parentRunId" in runs:
        runs = runs[runs["tags.mlflow.parentRunId"].isna()]
    if not all_sweeps and "tags.sweep_dir" in runs:
        latest = runs.sort_values("start_time")["tags.sweep_dir"].iloc[-1]
        runs = runs[runs["tags.sweep_dir"] == latest]
    return runs


def add_derived(runs: pd.DataFrame, derived: dict[str, str]) -> pd.DataFrame:
    """Per-run metrics computed from logged ones, e.g. {"train_minutes": "train_seconds / 60"}
    (pandas.eval expressions over metric names)."""
    metrics = runs[[c for c in runs if c.startswith("metrics.")]].rename(columns=lambda c: c.removeprefix("metrics."))
    return runs.assign(**{f"metrics.{name}": metrics.eval(expression) for name, expression in derived.items()})


def save_bar_chart(summary: pd.DataFrame, metric: str, group_by: str, path: Path) -> None:
    """A PNG with one bar per group: the mean of `metric` (error bars: min to max), value on top."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    stats = summary[metric].sort_values("mean")
    figure, ax = plt.subplots(figsize=(max(5.0, 1.3 * len(stats)), 4), layout="constrained")
    spread = [stats["mean"] - stats["min"], stats["max"] - stats["mean"]]
    bars = ax.bar(
        stats.index.astype(str), stats["mean"], yerr=spread if (stats["count"] > 1).any() else None, capsize=4
    )
    ax.bar_label(bars, labels=[number(v) for v in stats["mean"]], padding=3)
    ax.set_ylim(min(stats["min"].min() * 0.98, 1.0) if metric.endswith("accuracy") else 0, None)
    ax.set_ylabel(metric)
    ax.set_xlabel(group_by)
    ax.tick_params(axis="x", labelrotation=20)
    figure.savefig(path, dpi=120)
    plt.close(figure)


def group_column(group_by: str) -> str:
    """The runs column a report groups by: a tag (`arm`), or a logged param (`params.dataset.split.group_column`)."""
    return group_by if group_by.startswith("params.") else f"tags.{group_by}"


def summarize(runs: pd.DataFrame, group_by: str, metrics: list[str]) -> pd.DataFrame:
    """mean, std, min, max and count of each metric per group."""
    columns = {f"metrics.{m}": m for m in metrics if f"metrics.{m}" in runs}
    grouped = runs.rename(columns=columns).groupby(group_column(group_by))[list(columns.values())]
    return grouped.agg(["mean", "std", "min", "max", "count"])


def number(value: float, like: float | None = None) -> str:
    """Counts with thousands separators, seconds with one decimal, tiny values in scientific
    notation, scores with four decimals (seed 001 reports 0.7597). `like` formats a spread the
    way its mean is formatted."""
    if pd.isna(value):
        return "n/a"
    scale = abs(value if like is None else like)
    if value == 0:
        return "0"
    if scale >= 1000 or (scale >= 10 and float(value).is_integer()):
        return f"{value:,.0f}"
    if scale >= 10:
        return f"{value:.1f}"
    if scale < 1e-3:
        return f"{value:.1e}"
    return f"{value:.4f}"


def markdown_table(summary: pd.DataFrame, metrics: list[str], group_by: str) -> str:
    present = [m for m in metrics if m in summary.columns.get_level_values(0)]
    lines = [f"| {group_by} | n | " + " | ".join(present) + " |", "|---" * (len(present) + 2) + "|"]
    for group, row in summary.iterrows():
        cells = [
            number(row[(m, "mean")])
            + (
                ""
                if pd.isna(row[(m, "std")]) or row[(m, "std")] == 0
                else f" ± {number(row[(m, 'std')], like=row[(m, 'mean')])}"
            )
            for m in present
        ]
        lines.append(f"| {group} | {int(row[(present[0], 'count')])} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def reference_table(summary: pd.DataFrame, reference: dict) -> str:
    """Our mean [min, max] beside the figures the original study reported."""
    lines = ["| group | metric | reference | ours: mean [min, max] |", "|---|---|---|---|"]
    for group, values in reference.items():
        for metric, expected in values.items():
            if group in summary.index and (metric, "mean") in summary.columns:
                ours = summary.loc[group, metric]
                lines.append(
                    f"| {group} | {metric} | {expected} | "
                    f"{number(ours['mean'])} [{number(ours['min'])}, {number(ours['max'])}] |"
                )
    return "\n".join(lines)


def report_spec(study: str) -> dict:
    """The study's `report` block as Hydra composes it (presets may extend other presets), plus
    `planned`: the values its sweep gives the group_by key (e.g. every arm), to flag those not run."""
    from transferlab.cli import CONF_DIR, register_experiments

    register_experiments()
    with hydra.initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        cfg = hydra.compose(config_name="config", overrides=[f"experiment={study}"], return_hydra_config=True)
    spec = OmegaConf.to_container(cfg.report)
    swept = OmegaConf.select(cfg, "hydra.sweeper.params", default={}) or {}
    key = spec["group_by"].removeprefix("params.")
    planned = [g.strip() for g in str(swept[key]).split(",")] if key in swept else []
    spec["planned"] = ["None" if g == "null" else g for g in planned]  # MLflow logs a null param as None
    return spec


def missing_groups_note(summary: pd.DataFrame, spec: dict) -> list[str]:
    """A line naming the sweep's groups with no finished run (e.g. arms that need a download)."""
    missing = [group for group in spec["planned"] if group not in summary.index]
    return [f"Not in this table (no finished run in the sweep read): {', '.join(missing)}."] if missing else []


def as_list(value: str | list[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def baseline_table(
    runs: pd.DataFrame, group_by: str, metrics: list[str], baselines: str | list[str], compared: list[str] | None = None
) -> str:
    """Each compared group's difference from each baseline group, paired by training seed (same seed,
    same data, so the same base model in transfer studies): mean ± std, how many seeds improved, and
    whether the mean gain exceeds the seed-to-seed spread (the larger std of the two groups)."""
    seed = "params.trainer.seed"
    columns = [m for m in metrics if f"metrics.{m}" in runs]
    frame = runs.set_index([group_column(group_by), seed])[[f"metrics.{m}" for m in columns]]
    baselines = as_list(baselines)
    groups = compared or sorted(set(frame.index.get_level_values(0)) - set(baselines))
    present = set(frame.index.get_level_values(0))
    lines = [
        f"| {group_by} | against | metric | mean difference | seeds higher | gain beyond seed spread |",
        "|---|---|---|---|---|---|",
    ]
    for baseline in (b for b in baselines if b in present):
        reference = frame.xs(baseline, level=0)
        for group in (g for g in groups if g in present and g != baseline):
            differences = (frame.xs(group, level=0) - reference).dropna(how="all")
            for metric in columns:
                values = differences[f"metrics.{metric}"].dropna()
                if not len(values):
                    continue
                spread = max(frame.xs(g, level=0)[f"metrics.{metric}"].std() for g in (group, baseline))
                beyond = "n/a" if pd.isna(spread) else ("yes" if values.mean() > spread else "no")
                deviation = f" ± {number(values.std(), like=values.mean())}" if len(values) > 1 else ""
                lines.append(
                    f"| {group} | {baseline} | {metric} | {values.mean():+.4f}{deviation} | "
                    f"{int((values > 0).sum())} of {len(values)} | {beyond} |"
                )
    return "\n".join(lines)


def run_commits(runs: pd.DataFrame) -> list[str]:
    """The commits the runs ran at, `-dirty` where tracked files had changes (MLflow's commit tag and
    our git_dirty; runs logged before 2026-12-03 carry both in a git_commit tag)."""
    if "tags.mlflow.source.git.commit" in runs:
        dirty = runs.get("tags.git_dirty", pd.Series("false", index=runs.index)).eq("true")
        labels = runs["tags.mlflow.source.git.commit"] + dirty.map({True: "-dirty", False: ""})
    else:
        labels = runs.get("tags.git_commit", pd.Series(dtype=str))
    return sorted(labels.dropna().unique()) or ["unknown"]


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs CSV: run id, start time, metrics, the arm, model, strategy, commit and seed of each run."""
    keep = ["run_id", "start_time"] + [
        c
        for c in runs
        if c.startswith(
            (
                "metrics.",
                "tags.arm",
                "tags.model",
                "tags.strategy",
                "tags.mlflow.source.git.commit",
                "tags.git_dirty",
                "tags.git_commit",
                "params.trainer.seed",
            )
        )
    ]
    return runs[keep]


def study_sections(study: str, spec: dict, runs: pd.DataFrame, tracking_uri: str, output_dir: Path) -> list[str]:
    """The page's Markdown sections: results table, chart (saved to output_dir), the baseline table and the
    original study's figures where the block names them."""
    summary = summarize(runs, spec["group_by"], spec["metrics"])
    chart = []
    if spec.get("chart"):
        save_bar_chart(summary, spec["chart"], spec["group_by"], output_dir / f"{study}_{spec['chart']}.png")
        chart = [f"![{spec['chart']} per {spec['group_by']}]({study}_{spec['chart']}.png)"]
    commits = run_commits(runs)
    return [
        f"# {study}: results",
        f"Generated by `python -m transferlab.report {study}` on {datetime.now(timezone.utc):%Y-%m-%d %H:%M} UTC "
        f"from {len(runs)} finished runs in `{tracking_uri}` (commits: {', '.join(commits)}). "
        f"Mean ± std over runs per {spec['group_by']}.",
        spec.get("notes", "").strip(),
        markdown_table(summary, spec["metrics"], spec["group_by"]),
        *missing_groups_note(summary, spec),
        *chart,
        *(
            [
                f"## Against {', '.join(as_list(spec['baseline']))}, paired by seed\n\n"
                + baseline_table(
                    runs, spec["group_by"], spec["baseline_metrics"], spec["baseline"], spec.get("compared")
                )
            ]
            if spec.get("baseline")
            else []
        ),
        *(
            [
                "## Against the original study\n\n"
                + spec.get("reference_notes", "").strip()
                + ("\n\n" + reference_table(summary, spec["reference"]) if spec.get("reference") else "")
            ]
            if spec.get("reference") or spec.get("reference_notes")
            else []
        ),
    ]


def publish(staging: Path, output_dir: Path) -> None:
    """Move what `staging` holds into output_dir, replacing a previous report's files and figure folders;
    the page last, so it never links to figures not yet in place."""
    for path in sorted(staging.iterdir(), key=lambda p: p.suffix == ".md"):
        target = output_dir / path.name
        if target.is_dir():
            shutil.rmtree(target)
        path.replace(target)


def write_report(study: str, tracking_uri: str, all_sweeps: bool = False, output_dir=EXPERIMENTS_DIR) -> str:
    """experiments/<study>_results.md, _runs.csv, the chart and, with `report.explanations`, the
    explanation figures; all or nothing: staged in a folder inside output_dir, moved into place at the end."""
    from transferlab.explanation_report import explanation_settings, explanations_section  # it imports this module

    spec = report_spec(study)
    explanations = explanation_settings(spec.get("explanations"))
    runs = add_derived(study_runs(study, tracking_uri, all_sweeps), spec.get("derived", {}))
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{study}_report_", dir=output_dir) as folder:
        staging = Path(folder)
        sections = study_sections(study, spec, runs, tracking_uri, staging)
        if explanations:
            client = mlflow.MlflowClient(tracking_uri)
            sections.append(
                explanations_section(runs, spec["group_by"], explanations, client, staging, f"{study}_figures")
            )
        text = "\n\n".join(sections)
        (staging / f"{study}_results.md").write_text(text + "\n")
        runs_table(runs).to_csv(staging / f"{study}_runs.csv", index=False)
        publish(staging, output_dir)
    return text


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("study", help="experiment preset name, e.g. pima_transfer")
    parser.add_argument("--tracking-uri", default=DEFAULT_URI)
    parser.add_argument("--all-sweeps", action="store_true", help="pool every sweep of the study, not only the latest")
    parser.add_argument(
        "--output-dir", default=EXPERIMENTS_DIR, help="where the table, runs CSV and chart go (default: experiments/)"
    )
    args = parser.parse_args(argv)
    try:
        if not (EXPERIMENTS_DIR / f"{args.study}.yaml").is_file():
            raise ConfigError("study", args.study, f"no experiments/{args.study}.yaml")
        print(write_report(args.study, args.tracking_uri, args.all_sweeps, args.output_dir))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
