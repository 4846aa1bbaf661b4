"""Sweep throughput: the same small sweep on the basic launcher, on joblib and on Ray, in one run.

The sweep: `python run.py -m dataset=breast_cancer trainer.seed=0..7 trainer.epochs=20
explainer=none tracking.skip_finished=false` (--jobs, --epochs, --dataset), each launcher into its
own fresh temporary MLflow store:

* basic: Hydra's basic launcher, one job after another in the sweep's process (the baseline);
* joblib: `hydra/launcher=joblib hydra.launcher.n_jobs=2` (--workers), loky worker processes;
* ray: `hydra/launcher=ray +hydra.launcher.ray.init.num_cpus=2`, Ray started in the sweep's process.

Wall time is the sweep command's, from spawn to exit (Hydra, the check of every job before the
first starts, the store's creation, worker start-up, every job, the summary). Every job's run must
be FINISHED. Each job's own times come from its MLflow run: `train_seconds` (its fit) and the run's
duration (data, model, fit, evaluation, logging). Per-job overhead = worker-seconds per job
(wall x workers / jobs; workers = 1 for basic) - the mean `train_seconds`: every second a worker
spends on a job other than fitting (launcher, process start-up and imports, Hydra, MLflow,
evaluation, and idle workers at the end). Of it, "outside the run" = worker-seconds per job - the
mean run duration (launcher, start-up, imports, Hydra). "first run s": from spawn to the first job's
MLflow run (Hydra, the check of every job, worker start-up and imports). On 2 cores, parallel jobs
also slow each other, which shows in `train_seconds` and the run duration: "jobs' slowdown" = a
parallel launcher's mean run duration / basic's, and 2 / slowdown bounds what 2 workers could reach
over basic with no start-up or launcher cost at all. --repeats rounds (1) rotate the launchers' order.
Target: joblib >= 1.6x the basic launcher's jobs per minute.

    .venv/bin/python benchmarks/sweep_throughput.py [--jobs 8] [--epochs 20] [--workers 2] [--repeats 1] [--record]
"""

import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402
import _sweeps as sweeps  # noqa: E402

SECTION = "sweep_throughput"
TARGET_JOBLIB = 1.6
LAUNCHERS = ("basic", "joblib", "ray")


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    sweeps.add_sweep_arguments(parser, jobs=8, epochs=20)
    parser.add_argument("--workers", type=int, default=2, help="joblib's n_jobs and Ray's num_cpus (default 2)")
    parser.add_argument("--repeats", type=int, default=1, help="rounds of the three sweeps (default 1)")
    parser.add_argument("--launchers", nargs="+", choices=LAUNCHERS, default=list(LAUNCHERS))
    args = parser.parse_args(argv)
    if "basic" not in args.launchers:
        parser.error("--launchers must include basic, the baseline")
    return args


def launcher_overrides(name: str, workers: int, ray_dir: Path) -> list[str]:
    """The command-line overrides that pick launcher `name` with `workers` workers."""
    if name == "joblib":
        return ["hydra/launcher=joblib", f"hydra.launcher.n_jobs={workers}"]
    if name == "ray":
        # Ray's session folder holds unix sockets: its path must stay short.
        ray_init = "+hydra.launcher.ray.init"
        return ["hydra/launcher=ray", f"{ray_init}.num_cpus={workers}", f"{ray_init}._temp_dir={ray_dir}"]
    return []


def measure(args, name: str, folder: Path) -> dict:
    """One sweep on launcher `name` into `folder`: wall seconds, workers and its jobs' runs."""
    ray_dir = Path(tempfile.mkdtemp(prefix="ray", dir="/tmp"))
    try:
        command = sweeps.sweep_command(args, folder, *launcher_overrides(name, args.workers, ray_dir))
        spawned = time.time()
        wall = sweeps.run_sweep(command, sweeps.sweep_env(args.backend), name, folder / "sweep.log")
    finally:
        shutil.rmtree(ray_dir, ignore_errors=True)
    runs = sweeps.finished_runs(folder, args.jobs, name)
    first_run = min(run.started for run in runs) - spawned
    return {"wall": wall, "workers": 1 if name == "basic" else args.workers, "runs": runs, "first_run": first_run}


def figures(result: dict, jobs: int) -> dict:
    """Jobs per minute, worker-seconds per job and its split, for one sweep."""
    worker_s = result["wall"] * result["workers"] / jobs
    train = statistics.mean(r.train_seconds for r in result["runs"])
    run = statistics.mean(r.run_seconds for r in result["runs"])
    return {
        "wall": result["wall"],
        "per_min": jobs * 60 / result["wall"],
        "worker_s": worker_s,
        "train": train,
        "run": run,
        "overhead": worker_s - train,
        "outside": worker_s - run,
        "first_run": result["first_run"],
    }


def median_figures(results: list[dict], jobs: int) -> dict:
    each = [figures(result, jobs) for result in results]
    return {key: common.median([f[key] for f in each]) for key in each[0]}


def result_table(args, medians: dict[str, dict], walls: dict[str, list[float]]) -> str:
    base = medians["basic"]["wall"]
    rows = [
        [
            name,
            1 if name == "basic" else args.workers,
            f"{m['wall']:.1f}",
            f"{m['per_min']:.1f}",
            f"{base / m['wall']:.2f}x",
            f"{m['worker_s']:.1f}",
            f"{m['train']:.2f}",
            f"{m['run']:.2f}",
            f"{m['overhead']:.1f}",
            f"{m['outside']:.1f}",
            f"{m['first_run']:.1f}",
            ", ".join(f"{w:.1f}" for w in walls[name]),
        ]
        for name, m in medians.items()
    ]
    headers = ["launcher", "workers", "wall s", "jobs/min", "vs basic", "worker-s/job", "fit s/job"]
    headers += ["run s/job", "overhead s/job", "outside run s/job", "first run s", "every wall s"]
    return common.table(headers, rows)


def summary_lines(args, medians: dict[str, dict]) -> list[str]:
    base = medians["basic"]["wall"]
    lines = []
    if "joblib" in medians:
        ratio = base / medians["joblib"]["wall"]
        verdict = "MET" if ratio >= TARGET_JOBLIB else "MISSED"
        lines.append(f"- joblib / basic jobs per minute: {ratio:.2f}x (target >= {TARGET_JOBLIB:g}x): {verdict}")
    if "ray" in medians:
        lines.append(f"- ray / basic jobs per minute: {base / medians['ray']['wall']:.2f}x (no target)")
    for name in [name for name in medians if name != "basic"]:
        slowdown = medians[name]["run"] / medians["basic"]["run"]
        lines.append(
            f"- {name}: jobs' slowdown with {args.workers} at once {slowdown:.2f}x (mean run s/job vs basic); "
            f"bound with no start-up or launcher cost: {args.workers / slowdown:.2f}x basic"
        )
    lines += [
        f"- {args.jobs} jobs of {args.dataset}, {args.epochs} epochs, explainer=none, backend {args.backend}, "
        f"median of {args.repeats} round(s); every job's run FINISHED",
        "- overhead s/job = worker-seconds per job (wall x workers / jobs) - mean train_seconds; "
        "outside run s/job = worker-seconds per job - mean MLflow run duration",
    ]
    return lines


def joblib_ratio(medians: dict[str, dict]) -> float:
    return medians["basic"]["wall"] / medians["joblib"]["wall"] if "joblib" in medians else float("inf")


def main(argv=None) -> int:
    args = parse_args(argv)
    tmp = Path(tempfile.mkdtemp(prefix="bench_sweep_throughput_"))
    print(f"{args.jobs}-job sweeps on {', '.join(args.launchers)} under {tmp}", flush=True)
    results = {name: [] for name in args.launchers}
    try:
        for round_ in range(args.repeats):
            order = args.launchers[round_ % len(args.launchers) :] + args.launchers[: round_ % len(args.launchers)]
            for name in order:
                result = measure(args, name, tmp / f"{round_}_{name}")
                results[name].append(result)
                print(f"  round {round_ + 1} {name:6s}: {result['wall']:6.1f} s, {args.jobs} runs FINISHED", flush=True)
    finally:
        if not args.keep_tmp:
            shutil.rmtree(tmp, ignore_errors=True)
    medians = {name: median_figures(results[name], args.jobs) for name in args.launchers}
    walls = {name: [r["wall"] for r in results[name]] for name in args.launchers}
    table, summary = result_table(args, medians, walls), summary_lines(args, medians)
    common.print_report(table, summary)
    if args.record:
        title = f"Sweep throughput: basic vs joblib vs Ray ({args.jobs} jobs, {args.workers} workers)"
        common.record_result(SECTION, title, __file__, argv, args.backend, table, summary)
    return 3 if args.strict and joblib_ratio(medians) < TARGET_JOBLIB else 0


if __name__ == "__main__":
    sys.exit(main())
