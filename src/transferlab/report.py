"""Compare finished runs read back from MLflow: grouped statistics over seeds, seed-paired comparisons
against a baseline, cost (Pareto) and curves, as Markdown, CSV, a self-contained HTML page and an
MLflow run (tag report=true). Study presets' `report:` blocks are saved selections for it.

    transferlab-report pima_transfer                         # a study: its latest sweep, its preset's grouping
    transferlab-report pima_transfer --all-sweeps
    transferlab-report --experiment higgs_lora --group-by strategy.name,strategy.rank \\
        --baseline strategy.name=scratch,strategy.rank=None --metrics test_accuracy,test_roc_auc
    transferlab-report --experiment breast_cancer --filter "params.trainer.epochs = '50'" --group-by model.name
    transferlab-report --tag sweep_dir=/path/to/multirun/2026-12-03/10-00-00 --group-by arm --name today

Studies write to experiments/, other reports to reports/ (--output-dir to change); everything is staged
and moved into place at the end. Bad input: one `error: ...` line, exit 2, nothing written.
"""

import argparse
import dataclasses
import os
import shlex
import shutil
import sys
import tempfile
from pathlib import Path

import hydra
from mlflow import MlflowClient
from omegaconf import OmegaConf

from transferlab import PROJECT_ROOT
from transferlab.errors import ConfigError
from transferlab.reporting.build import ReportRequest, build_report
from transferlab.reporting.report_run import log_report_run
from transferlab.reporting.selection import RunSelection, check_store
from transferlab.reporting.statistics import INTERVALS

EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"
REPORTS_DIR = PROJECT_ROOT / "reports"
DEFAULT_URI = os.environ.get("MLFLOW_TRACKING_URI", f"sqlite:///{PROJECT_ROOT}/mlflow.db")


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


def as_tuple(value) -> tuple[str, ...]:
    """A preset value that may be one name or a list of them."""
    if value is None:
        return ()
    return (value,) if isinstance(value, str) else tuple(value)


def study_request(study: str, all_sweeps: bool = False, command: str | None = None) -> ReportRequest:
    """The saved selection and grouping of experiments/<study>.yaml's `report:` block."""
    from transferlab.explanation_report import explanation_settings

    if not (EXPERIMENTS_DIR / f"{study}.yaml").is_file():
        raise ConfigError("study", study, f"no experiments/{study}.yaml")
    spec = report_spec(study)
    return ReportRequest(
        name=study,
        selection=RunSelection(study=study, sweep=None if all_sweeps else "latest"),
        group_by=(spec["group_by"],),
        metrics=as_tuple(spec["metrics"]),
        baselines=as_tuple(spec.get("baseline")),
        compared=as_tuple(spec.get("compared")),
        baseline_metrics=as_tuple(spec.get("baseline_metrics")),
        chart=spec.get("chart"),
        pareto=spec.get("pareto"),
        curves=as_tuple(spec.get("curves", ["val_loss", "val_accuracy"])),
        derived=spec.get("derived") or {},
        notes=spec.get("notes") or "",
        reference=spec.get("reference"),
        reference_notes=spec.get("reference_notes") or "",
        planned=tuple(spec["planned"]),
        explanations=explanation_settings(spec.get("explanations")),
        command=command or f"transferlab-report {study}" + (" --all-sweeps" if all_sweeps else ""),
    )


def publish(staging: Path, output_dir: Path) -> None:
    """Move what `staging` holds into output_dir, replacing a previous report's files and figure folders;
    the pages last, so they never link to figures not yet in place."""
    for path in sorted(staging.iterdir(), key=lambda p: p.suffix in (".md", ".html")):
        target = output_dir / path.name
        if target.is_dir():
            shutil.rmtree(target)
        path.replace(target)


def write_report(request: ReportRequest, tracking_uri: str, output_dir: Path, log_run: bool = True) -> str:
    """Build the report in a staging folder inside output_dir, log it as an MLflow run, then move it into
    place: all or nothing."""
    check_store(tracking_uri)  # before the client: MLflow creates a SQLite store that does not exist yet
    client = MlflowClient(tracking_uri)
    output_dir = Path(output_dir)
    output_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix=f".{request.name}_report_", dir=output_dir) as folder:
        staging = Path(folder)
        text, selected = build_report(client, request, staging)
        if log_run:
            log_report_run(client, selected, request.name, request.selection.describe(), staging)
        publish(staging, output_dir)
    return text


def key_values(pairs: list[str], option: str) -> tuple[tuple[str, str], ...]:
    """`key=value` options as pairs; anything else is a ConfigError."""
    parsed = []
    for pair in pairs:
        if "=" not in pair:
            raise ConfigError(option, pair, "must be key=value")
        key, value = pair.split("=", 1)
        parsed.append((key, value))
    return tuple(parsed)


def comma_list(text: str | None) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(",") if part.strip()) if text else ()


def parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="transferlab-report", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("study", nargs="?", help="a study preset (experiments/<study>.yaml): its saved selection")
    select = parser.add_argument_group("selection (every option narrows it; only FINISHED job runs)")
    select.add_argument("--experiment", action="append", default=[], help="experiment name (repeat for several)")
    select.add_argument("--sweep", help="`latest`, or a sweep_dir (tag) to read; default: every sweep")
    select.add_argument("--all-sweeps", action="store_true", help="with a study: every sweep, not only the latest")
    select.add_argument("--filter", help="MLflow filter string, e.g. \"params.strategy.rank = '4'\"")
    select.add_argument("--tag", action="append", default=[], help="key=value (repeat for several)")
    select.add_argument("--run-id", action="append", default=[], help="explicit run id (repeat for several)")
    compare = parser.add_argument_group("comparison")
    compare.add_argument("--group-by", help="comma-separated config keys or tags (default: arm, or the study's)")
    compare.add_argument("--metrics", help="comma-separated metrics (default: every test_* metric, or the study's)")
    compare.add_argument("--baseline", action="append", default=[], help="key=value[,key=value] of a baseline group")
    compare.add_argument("--interval", default="t", help=f"95%% interval: {' or '.join(INTERVALS)}")
    compare.add_argument("--pareto", help="the metric charted against cost (default: the first metric; `none`)")
    compare.add_argument("--curves", help="per-epoch metrics to chart (default: val_loss,val_accuracy; `none`)")
    compare.add_argument("--chart", help="a metric to chart as bars per group")
    output = parser.add_argument_group("output")
    output.add_argument("--name", help="file prefix (default: the study, else `report`)")
    output.add_argument("--output-dir", help="default: experiments/ for a study, else reports/")
    output.add_argument("--tracking-uri", default=DEFAULT_URI)
    output.add_argument("--no-mlflow-run", action="store_true", help="do not log the report as an MLflow run")
    return parser


def request_from(args: argparse.Namespace, command: str) -> ReportRequest:
    """The study's saved request with the command line's options on top, or one from the options alone."""
    if args.study:
        request = study_request(args.study, args.all_sweeps, command)
        selection = request.selection
    else:
        request = ReportRequest(name="report", selection=RunSelection(), command=command)
        selection = RunSelection(sweep=args.sweep)
    selection = RunSelection(
        experiments=tuple(args.experiment) or selection.experiments,
        study=selection.study,
        sweep=args.sweep or selection.sweep,
        filter=args.filter,
        tags=key_values(args.tag, "--tag"),
        run_ids=tuple(args.run_id),
    )
    curves = comma_list(args.curves)
    changes = {
        "name": args.name or request.name,
        "selection": selection,
        "group_by": comma_list(args.group_by) or request.group_by,
        "metrics": comma_list(args.metrics) or request.metrics,
        "baselines": tuple(args.baseline) or request.baselines,
        "interval": args.interval,
        "pareto": args.pareto or request.pareto,
        "curves": () if curves == ("none",) else curves or request.curves,
        "chart": args.chart or request.chart,
    }
    if args.group_by:  # the preset's baselines and planned groups name groups of its own grouping
        changes |= {"baselines": tuple(args.baseline), "compared": (), "planned": ()}
    return dataclasses.replace(request, **changes)


def main(argv=None) -> None:
    argv = sys.argv[1:] if argv is None else argv
    args = parser().parse_args(argv)
    try:
        request = request_from(args, "transferlab-report " + shlex.join(argv))
        default_dir = EXPERIMENTS_DIR if args.study else REPORTS_DIR
        print(write_report(request, args.tracking_uri, args.output_dir or default_dir, not args.no_mlflow_run))
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)


if __name__ == "__main__":
    main()
