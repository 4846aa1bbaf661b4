"""The explanations part of a study report (the `report.explanations` block): per group, each explainer's
top features over the seeds and how stable they are, the agreement and faithfulness metrics, and the
figures of one run copied beside the page (the MLflow store is not committed, the page is)."""

import os
import re
import shutil
import tempfile
from itertools import combinations
from pathlib import Path

import pandas as pd
from mlflow import MlflowClient

from transferlab.conf_options import CONF_DIR
from transferlab.errors import ConfigError
from transferlab.reporting.grouping import key_name
from transferlab.reporting.numbers import number
from transferlab.reporting.statistics import summarize_groups
from transferlab.reporting.tables import wide_table
from transferlab.validation import NonNegativeInt, PositiveInt, Settings, rule, validate

IMPORTANCE = "importance.csv"  # every ranking explanation logs it (pipeline.log_explanation)
COMPARISON = "comparison"  # explanations/comparison/: agreement and deletion curves of a run's explainers
EXPLAINERS = sorted(path.stem for path in (CONF_DIR / "explainer").glob("*.yaml") if path.stem not in ("auto", "none"))
METRIC_TABLES = {
    "explainer_agreement_": "Agreement: Spearman's rho between the rankings of two explainers of the same run "
    "(`explainer_agreement_<a>_<b>`; 1 = same order).",
    "explainer_faithfulness_": "Faithfulness: the mean drop of test ROC-AUC as each ranking's top features are "
    "set to their training means, one at a time up to 20 (higher = the model relies on what the ranking "
    "puts first; `random`: a random ranking, the level to beat).",
    "ig_completeness_gap_": "Integrated gradients' completeness gap |sum(IG) - (f(x) - f(baseline))| over the "
    "explained rows (lower = the path integral is accurate; raise `explainer.integrated_gradients.steps` if not).",
}

RunFiles = dict[str, list[str]]  # a run's folders under explanations/ -> the file names in each
ExplainerName = rule(
    lambda v: v in EXPLAINERS, "not an explainer; choose from " + ", ".join(EXPLAINERS) + " (comparison/ comes always)"
)


class ExplanationSettings(Settings):
    """report.explanations: which explainers, how many top features, how many figures per group."""

    explainers: list[ExplainerName] | None = None  # None: every explainer whose importance.csv the runs logged
    top: PositiveInt = 5
    figures: NonNegativeInt = 6


def explanation_settings(block) -> ExplanationSettings | None:
    """The `report.explanations` block as settings: None when absent or false, the defaults for true."""
    if block is None or block is False:
        return None
    if block is True:
        return ExplanationSettings()
    if not isinstance(block, dict):
        raise ConfigError("report.explanations", block, "must be true, false or a mapping (explainers, top, figures)")
    return validate(ExplanationSettings, block, "report.explanations")


def explanation_files(client: MlflowClient, run_id: str) -> RunFiles:
    """Each folder under the run's explanations/ artifacts (an explainer, or comparison) -> its file names."""
    return {
        Path(folder.path).name: [Path(f.path).name for f in client.list_artifacts(run_id, folder.path) if not f.is_dir]
        for folder in client.list_artifacts(run_id, "explanations")
        if folder.is_dir
    }


def read_importances(client: MlflowClient, files: dict[str, RunFiles], explainers: list[str]) -> pd.DataFrame:
    """Every run's importance.csv of `explainers`, stacked: run_id, explainer, feature, importance."""
    frames = []
    with tempfile.TemporaryDirectory() as folder:
        for run_id, logged in files.items():
            for explainer in (e for e in explainers if IMPORTANCE in logged.get(e, [])):
                path = client.download_artifacts(run_id, f"explanations/{explainer}/{IMPORTANCE}", folder)
                # Tokens such as "NA" or "null" are features, not missing values.
                table = pd.read_csv(path, keep_default_na=False, dtype={"feature": str})
                frames.append(table.assign(run_id=run_id, explainer=explainer))
    columns = ["run_id", "explainer", "feature", "importance"]
    return pd.concat(frames, ignore_index=True)[columns] if frames else pd.DataFrame(columns=columns)


def mean_jaccard(sets: list[set]) -> float:
    """Mean |A ∩ B| / |A ∪ B| over every pair of `sets`; NaN for fewer than two."""
    overlaps = [len(a & b) / len(a | b) for a, b in combinations(sets, 2)]
    return sum(overlaps) / len(overlaps) if overlaps else float("nan")


def top_features_row(ranked: pd.DataFrame, n_runs: int, top: int) -> list[str]:
    """Runs read, runs skipped, the top features by mean importance over the runs read (a feature a run
    does not rank counts as 0 there) and the mean Jaccard overlap of the runs' own top sets."""
    n_read = ranked["run_id"].nunique()
    if not n_read:
        return ["0", str(n_runs), f"(no {IMPORTANCE})", "n/a"]
    mean = ranked.groupby("feature")["importance"].sum() / n_read
    run_tops = [set(table.nlargest(top, "importance")["feature"]) for _, table in ranked.groupby("run_id")]
    features = ", ".join(f"`{feature}`" for feature in mean.nlargest(top).index).replace("|", r"\|")
    return [str(n_read), str(n_runs - n_read), features, number(mean_jaccard(run_tops))]


def top_features_table(
    runs: pd.DataFrame,
    group_column: str,
    importances: pd.DataFrame,
    explainers: list[str],
    top: int,
    files: dict[str, RunFiles],
) -> str:
    """One row per group and explainer that logged anything in the group's runs: top_features_row."""
    header = key_name(group_column)
    lines = [
        f"| {header} | explainer | runs | skipped | top {top} by mean importance | top-{top} stability |",
        "|---|---|---|---|---|---|",
    ]
    for group, run_ids in runs.groupby(group_column)["run_id"]:
        logged = {explainer for run_id in run_ids for explainer in files[run_id]}
        for explainer in (e for e in explainers if e in logged):
            ranked = importances[(importances["explainer"] == explainer) & importances["run_id"].isin(run_ids)]
            lines.append(f"| {group} | {explainer} | " + " | ".join(top_features_row(ranked, len(run_ids), top)) + " |")
    return "\n".join(lines)


def metric_tables(runs: pd.DataFrame, group_column: str) -> list[str]:
    """Mean ± std over the runs per group of each logged metric family of METRIC_TABLES, with its meaning."""
    tables = []
    for prefix, meaning in METRIC_TABLES.items():
        metrics = sorted(c.removeprefix("metrics.") for c in runs if c.startswith(f"metrics.{prefix}"))
        if metrics:
            summary = summarize_groups(runs, [group_column], metrics)
            tables.append(meaning + "\n\n" + wide_table(summary, metrics, key_name(group_column)))
    return tables


def figure_paths(files: RunFiles, explainers: list[str] | None) -> list[str]:
    """A run's PNG artifacts under explanations/: comparison/ first, then each explainer's (`explainers`,
    or every folder the run logged), by name."""
    folders = [COMPARISON, *(explainers or sorted(files.keys() - {COMPARISON}))]
    return [
        f"explanations/{folder}/{name}"
        for folder in folders
        for name in sorted(files.get(folder, []))
        if name.endswith(".png")
    ]


def first_seed_runs(runs: pd.DataFrame, group_column: str) -> pd.DataFrame:
    """One run per group: the one of the lowest training seed (the earliest among equals)."""
    seed = pd.to_numeric(runs["params.trainer.seed"], errors="coerce").rename("seed")
    ordered = runs.assign(seed=seed).sort_values(["seed", "start_time"])
    return ordered.groupby(group_column).head(1).sort_values(group_column)


def copy_figures(client: MlflowClient, run_id: str, paths: list[str], target: Path) -> list[Path]:
    """The run's artifacts `paths` (explanations/<explainer>/<file>) copied to target/<explainer>_<file>."""
    target.mkdir(parents=True)
    copies = []
    with tempfile.TemporaryDirectory() as folder:
        for path in paths:
            _, explainer, name = path.split("/")
            copies.append(
                Path(shutil.move(client.download_artifacts(run_id, path, folder), target / f"{explainer}_{name}"))
            )
    return copies


def figures_section(
    client: MlflowClient,
    runs: pd.DataFrame,
    group_column: str,
    files: dict[str, RunFiles],
    settings: ExplanationSettings,
    page_dir: Path,
    figures_dir: str,
) -> str:
    """Markdown linking each group's figures, copied from its first seed's run to
    page_dir/figures_dir/<group>/ (at most settings.figures each)."""
    per_group = key_name(group_column)
    parts = [
        f"### Figures\n\nFrom one run per {per_group}, the one of its lowest seed (every run's figures are in MLflow "
        f"under explanations/); at most {settings.figures} PNGs per {per_group}, comparison/ first."
    ]
    for _, run in first_seed_runs(runs, group_column).iterrows():
        group = run[group_column]
        paths = figure_paths(files[run["run_id"]], settings.explainers)
        folder = Path(figures_dir) / re.sub(r"[^\w-]", "_", str(group))  # no dots: never ".."
        copies = copy_figures(client, run["run_id"], paths[: settings.figures], page_dir / folder)
        left_out = f"; {len(paths) - len(copies)} further PNG(s) not copied" if len(paths) > len(copies) else ""
        links = [f"![{path}]({(folder / copy.name).as_posix()})" for path, copy in zip(paths, copies)]
        parts.append(
            f"#### {group}: run `{run['run_id']}` (seed {run['params.trainer.seed']}){left_out}\n\n"
            + ("\n\n".join(links) or "No PNG under explanations/ in this run.")
        )
    return "\n\n".join(parts)


def explanations_section(
    runs: pd.DataFrame,
    group_column: str,
    settings: ExplanationSettings,
    client: MlflowClient,
    page_dir: Path,
    figures_dir: str,
) -> str:
    """The page's `## Explanations` Markdown; the figures it links are written under page_dir/figures_dir."""
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")  # else one bar per file read
    files = {run_id: explanation_files(client, run_id) for run_id in runs["run_id"]}
    explainers = settings.explainers or sorted(
        {explainer for logged in files.values() for explainer, names in logged.items() if IMPORTANCE in names}
    )
    top, per_group = settings.top, key_name(group_column)
    importances = read_importances(client, files, explainers)
    return "\n\n".join(
        [
            "## Explanations",
            f"Top {top}: the features (or tokens) with the highest mean importance over the {per_group}'s runs, "
            f"read from each run's explanations/<explainer>/{IMPORTANCE} (skipped: runs without one). "
            f"Top-{top} stability: the mean Jaccard overlap |A ∩ B| / |A ∪ B| of the top-{top} sets of every "
            f"pair of runs (seeds): 1 = every seed puts the same {top} first (in any order), 0 = no two seeds "
            f"share one (two top-5 sets sharing 3 features: 3/7 = 0.43); n/a with a single run.",
            top_features_table(runs, group_column, importances, explainers, top, files)
            if explainers
            else f"No run logged an explanations/<explainer>/{IMPORTANCE}.",
            *metric_tables(runs, group_column),
            *(
                [figures_section(client, runs, group_column, files, settings, page_dir, figures_dir)]
                if settings.figures
                else []
            ),
        ]
    )
