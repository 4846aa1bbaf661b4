"""transferlab-report on 1,000 runs: reading them from a SQLite store and writing the whole report.

A store is generated once with MLflow's own client (cached at --store): --runs job runs in one
experiment, 20 arms x (runs / 20) seeds, each with 60 params, 12 metrics and the usual tags, and
a stage run under each with --epochs points of val_loss and val_accuracy (the curves). Then, in
one run, interleaved --repeats times:

* baseline: a plain loop of `MlflowClient.get_run(run_id)` over the job runs' ids (ids from one
  search, not timed), the least any tool reading those runs one by one does;
* the read alone, in process: MLflow's own search_runs (into the same frame) and
  get_metric_history_bulk against the bulk SQL reads the report uses (reporting/sql_store.py);
* ours: `transferlab-report --experiment bench_report --group-by arm --baseline arm=arm_00` as a
  user runs it (a fresh process: imports, selection, statistics, paired tests, Pareto and curves
  charts, Markdown, CSVs, HTML, and the report logged as an MLflow run), wall time.

Target: ours <= 10 s for 1,000 runs on this machine; the ratio to the baseline is printed too.

    .venv/bin/python benchmarks/report_runs.py [--runs 1000] [--repeats 3] [--record]
"""

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

SECTION = "report_runs"
EXPERIMENT = "bench_report"
TARGET_S = 10.0


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument("--runs", type=int, default=1000, help="job runs in the generated store")
    parser.add_argument("--epochs", type=int, default=20, help="points per curve in each stage run")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--store", type=Path, default=None, help="folder of the generated store (default: /tmp)")
    parser.add_argument("--record", action="store_true", help="write/replace this section of benchmarks/RESULTS.md")
    return parser.parse_args(argv)


def generate(uri: str, runs: int, epochs: int) -> None:
    """`runs` FINISHED job runs (20 arms) with a stage run each, written with MlflowClient.log_batch."""
    import random

    from mlflow import MlflowClient
    from mlflow.entities import Metric, Param

    client = MlflowClient(uri)
    experiment = client.create_experiment(EXPERIMENT)
    rng = random.Random(0)
    for index in range(runs):
        arm, seed = index % 20, index // 20
        skill = 0.7 + 0.01 * arm
        job = client.create_run(experiment, tags={"arm": f"arm_{arm:02d}", "study": "bench", "sweep_dir": "/bench"})
        params = [Param("trainer.seed", str(seed)), Param("model.name", f"model_{arm % 4}")]
        params += [Param(f"setting.{k:02d}", str(rng.random())) for k in range(58)]
        metrics = {f"test_{name}": skill + rng.gauss(0, 0.01) for name in ("accuracy", "f1", "roc_auc", "macro_f1")}
        metrics |= {f"val_{name}": skill + rng.gauss(0, 0.01) for name in ("accuracy", "f1", "roc_auc", "macro_f1")}
        metrics |= {"trainable_params": 1000 * (arm + 1), "total_params": 50_000, "train_seconds": 5 + arm}
        metrics |= {"memory_peak_mb": 800 + rng.random()}
        client.log_batch(job.info.run_id, [Metric(k, v, 0, 0) for k, v in metrics.items()], params)
        stage = client.create_run(experiment, tags={"mlflow.parentRunId": job.info.run_id, "stage": "train"})
        curve = [Metric("val_loss", 1 / (e + 1) + rng.random() * 0.01, 0, e) for e in range(epochs)]
        curve += [Metric("val_accuracy", skill * (1 - 1 / (e + 2)), 0, e) for e in range(epochs)]
        client.log_batch(stage.info.run_id, curve)
        client.set_terminated(stage.info.run_id)
        client.set_terminated(job.info.run_id)
        if (index + 1) % 200 == 0:
            print(f"generated {index + 1} of {runs} runs", flush=True)


def time_get_run_loop(uri: str) -> float:
    import mlflow
    from mlflow import MlflowClient

    mlflow.set_tracking_uri(uri)
    ids = mlflow.search_runs(experiment_names=[EXPERIMENT], filter_string="tags.study = 'bench'")["run_id"]
    client = MlflowClient(uri)
    start = time.perf_counter()
    for run_id in ids:
        client.get_run(run_id)
    return time.perf_counter() - start


def timed(read):
    """(seconds, result) of calling `read`."""
    start = time.perf_counter()
    result = read()
    return time.perf_counter() - start, result


def time_reads(uri: str) -> dict[str, float]:
    """Seconds to read every finished run and the val_loss histories, MLflow's way and sql_store's."""
    from mlflow import MlflowClient

    from transferlab.reporting import sql_store
    from transferlab.reporting.selection import search

    client = MlflowClient(uri)
    store = client._tracking_client.store
    ids = [client.get_experiment_by_name(EXPERIMENT).experiment_id]
    seconds = {}
    seconds["runs_mlflow"], _ = timed(lambda: search(client, ids, "attributes.status = 'FINISHED'"))
    seconds["runs_sql"], runs = timed(lambda: sql_store.finished_runs(store, ids))
    stages = list(runs.loc[runs["tags.stage"].notna(), "run_id"])
    seconds["curve_mlflow"], _ = timed(lambda: store.get_metric_history_bulk(stages, "val_loss", max_results=None))
    seconds["curve_sql"], _ = timed(lambda: sql_store.metric_points(store, stages, "val_loss"))
    return seconds


def time_report(uri: str, output: Path) -> float:
    command = [sys.executable, "-m", "transferlab.report", "--experiment", EXPERIMENT, "--group-by", "arm"]
    command += ["--baseline", "arm=arm_00", "--tracking-uri", uri, "--output-dir", str(output), "--name", "bench"]
    start = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, cwd=common.PROJECT_ROOT)
    elapsed = time.perf_counter() - start
    if done.returncode != 0:
        sys.exit(f"the report failed:\n{done.stderr[-3000:]}")
    return elapsed


def main(argv=None) -> int:
    args = parse_args(argv)
    common.use_project_sources()
    folder = args.store or Path(tempfile.gettempdir()) / f"transferlab-bench-report-{args.runs}-{args.epochs}"
    uri = f"sqlite:///{folder}/mlflow.db"
    if not (folder / "done").exists():
        folder.mkdir(parents=True, exist_ok=True)
        (folder / "mlflow.db").unlink(missing_ok=True)
        generate(uri, args.runs, args.epochs)
        (folder / "done").touch()
    baseline, ours, reads = [], [], []
    with tempfile.TemporaryDirectory() as output:
        for _ in range(args.repeats):
            baseline.append(time_get_run_loop(uri))
            reads.append(time_reads(uri))
            ours.append(time_report(uri, Path(output)))
        pages = sorted(p.name for p in Path(output).iterdir())
    base_s, ours_s = common.median(baseline), common.median(ours)
    read_s = {name: common.median([r[name] for r in reads]) for name in reads[0]}
    labels = {
        "runs_mlflow": "read all runs: MlflowClient.search_runs",
        "runs_sql": "read all runs: sql_store.finished_runs",
        "curve_mlflow": "val_loss histories: get_metric_history_bulk",
        "curve_sql": "val_loss histories: sql_store.metric_points",
    }
    rows = [[f"{args.runs:,} x MlflowClient.get_run (loop)", f"{base_s:.2f}", ", ".join(f"{t:.2f}" for t in baseline)]]
    rows += [
        [label, f"{read_s[name]:.2f}", ", ".join(f"{r[name]:.2f}" for r in reads)] for name, label in labels.items()
    ]
    rows += [["transferlab-report, whole command", f"{ours_s:.2f}", ", ".join(f"{t:.2f}" for t in ours)]]
    result_table = common.table(["path", "median s", f"each of {args.repeats}"], rows)
    summary = [
        f"- report over {args.runs:,} job runs (+ {args.runs:,} stage runs, {args.epochs} epochs of 2 curves each): "
        f"{ours_s:.2f} s, target <= {TARGET_S:.0f} s: {'MET' if ours_s <= TARGET_S else 'MISSED'}",
        f"- ours / get_run loop: {ours_s / base_s:.2f}x (ours also starts Python, imports, writes every output)",
        f"- bulk SQL read vs MLflow's: runs {read_s['runs_mlflow'] / read_s['runs_sql']:.1f}x faster, "
        f"histories {read_s['curve_mlflow'] / read_s['curve_sql']:.1f}x faster",
        f"- outputs: {', '.join(pages)}",
    ]
    common.print_report(result_table, summary)
    if args.record:
        title = "transferlab-report on 1,000 runs vs a get_run loop"
        common.record_result(SECTION, title, __file__, argv, "none (no Keras)", result_table, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
