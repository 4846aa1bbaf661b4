"""Memory over a long sweep: does a process that runs job after job keep growing?

The basic launcher runs every job of `python run.py -m ...` in the launching process. This script
runs a --jobs (20) job sweep that way (trainer.seed=0..19, --dataset breast_cancer, --epochs 5,
explainer=none, tracking.skip_finished=false, a temporary MLflow store) with a Hydra callback
(`_rss_callback.RssAfterEachJob`, from this folder) that appends the process's resident set size
(RSS, /proc/self/statm) and the number of objects Python's collector tracks after each job ends.
All the jobs' runs must be FINISHED.

Growth = RSS after the last job - RSS after the first job (the first job pays the one-off costs:
imports, backend start-up, the store's schema, the first compilations). Also printed: the slope of
a least-squares line through jobs 2..N (MB per job). Target: growth <= 50 MB.

    .venv/bin/python benchmarks/sweep_memory.py [--jobs 20] [--epochs 5] [--backend tensorflow|jax] [--record]
"""

import json
import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402
import _sweeps as sweeps  # noqa: E402

SECTION = "sweep_memory"
TARGET_GROWTH_MB = 50.0
CALLBACK = "_rss_callback.RssAfterEachJob"
BAR_MB = 5.0  # one '#' per this many MB above the first job


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    sweeps.add_sweep_arguments(parser, jobs=20, epochs=5)
    return parser.parse_args(argv)


def measure(args, tmp: Path) -> list[dict]:
    """Run the sweep with the RSS callback; its lines, one per job in job order."""
    samples = tmp / "rss.jsonl"
    callback = [f"+hydra.callbacks.rss._target_={CALLBACK}", f"+hydra.callbacks.rss.path={samples}"]
    env = sweeps.sweep_env(args.backend, common.BENCH_DIR)
    wall = sweeps.run_sweep(sweeps.sweep_command(args, tmp, *callback), env, "basic", tmp / "sweep.log")
    sweeps.finished_runs(tmp, args.jobs, "basic")
    lines = [json.loads(line) for line in samples.read_text().splitlines()]
    if [line["job"] for line in lines] != list(range(args.jobs)):
        sys.exit(f"error: expected one RSS line per job 0-{args.jobs - 1} in {samples}, found {lines}")
    print(f"{args.jobs} jobs FINISHED in {wall:.1f} s", flush=True)
    return lines


def slope(values: list[float]) -> float:
    """Least-squares slope of `values` against their index."""
    n = len(values)
    mean_x, mean_y = (n - 1) / 2, sum(values) / n
    num = sum((i - mean_x) * (v - mean_y) for i, v in enumerate(values))
    return num / sum((i - mean_x) ** 2 for i in range(n))


def result_table(lines: list[dict]) -> str:
    first = lines[0]["rss_mb"]
    rows = [
        [
            line["job"] + 1,
            f"{line['rss_mb']:.0f}",
            f"{line['rss_mb'] - first:+.0f}",
            f"{line['objects']:,}",
            "#" * max(0, round((line["rss_mb"] - first) / BAR_MB)),
        ]
        for line in lines
    ]
    return common.table(["after job", "RSS MB", "vs job 1", "tracked objects", f"# = {BAR_MB:g} MB"], rows)


def summary_lines(args, lines: list[dict]) -> list[str]:
    rss = [line["rss_mb"] for line in lines]
    growth = rss[-1] - rss[0]
    met = growth <= TARGET_GROWTH_MB
    per_job = slope(rss[1:]) if len(rss) > 2 else float("nan")
    return [
        f"- RSS after job 1: {rss[0]:.0f} MB; after job {len(rss)}: {rss[-1]:.0f} MB; highest {max(rss):.0f} MB",
        f"- growth job 1 -> job {len(rss)}: {growth:+.1f} MB (target <= {TARGET_GROWTH_MB:g} MB): "
        + ("MET" if met else "MISSED"),
        f"- slope over jobs 2-{len(rss)}: {per_job:+.2f} MB/job; tracked objects "
        f"{lines[0]['objects']:,} -> {lines[-1]['objects']:,}",
        f"- jobs: {args.dataset}, {args.epochs} epochs, explainer=none, basic launcher, backend {args.backend}",
    ]


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_memory_"))
    print(f"{args.jobs}-job sweep on {args.backend} under {tmp}", flush=True)
    try:
        lines = measure(args, tmp)
    finally:
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    table, summary = result_table(lines), summary_lines(args, lines)
    common.print_report(table, summary)
    if args.record:
        title = f"Memory over a {args.jobs}-job sweep in one process ({args.backend})"
        common.record_result(f"{SECTION}-{args.backend}", title, __file__, argv, args.backend, table, summary)
    met = lines[-1]["rss_mb"] - lines[0]["rss_mb"] <= TARGET_GROWTH_MB
    return 3 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
