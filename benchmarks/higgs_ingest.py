"""HIGGS ingest: our loader (pyarrow float32 parse + .npy cache) vs seed 001's pandas read, and a
whole run's peak memory against the float32 size of the rows it uses.

    .venv/bin/python benchmarks/higgs_ingest.py [--rows 2000000] [--repeats 2]
        [--run-backends jax,tensorflow] [--record]

1. Writes a seeded HIGGS-format file once (UCI layout and number formatting: no header, label
   first, every value as `%.18e`, gzip) into --work-dir, reused by later invocations.
2. Times, each in a fresh subprocess (peak RSS above the RSS after imports, from ru_maxrss):
   - seed 001: `pd.read_csv(path, compression="gzip", header=None)`, then `.iloc[:, 1:]` and
     `.iloc[:, 0]` `.to_numpy(dtype=np.float32)`;
   - ours, first load: parse + validate + write the cache (into an empty cache dir), then read
     every row back into one float32 array;
   - ours, cached load: the same call when the cache exists (trust check + reading the rows).
   Targets: first load >= 2x faster than pandas, cached load >= 50x.
3. Runs `python run.py dataset=higgs ... strategy=lora` on every row of the file (train 60%,
   extra 30%, test 10%) and reads the run's logged memory_peak_growth_mb back from MLflow.
   Target: <= 2.5x the float32 size of those rows (rows x 29 columns x 4 bytes) on >= 1M rows.
   The same run on the first half of the file (1M rows by default) checks the target at its
   lower end and splits the growth into a fixed part (backend runtime, compiled functions: the
   same for any size) and a part per MB of rows, which is what the data costs.
   On JAX each size runs twice with its own trainer.compilation_cache_dir: first with the cache
   empty (a configuration's first run: XLA compiles every step), then the same command again
   with the cache warm (a rerun or a sweep's next job: the steps come from the cache).
   TensorFlow has no such cache.

Seed 001's real workload is the full UCI file, 11M rows: `--rows 11000000` writes a file of that
size (3.3 GB gzip, once) and records its own section.
"""

import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import _common as common

TARGET_FIRST, TARGET_CACHED, TARGET_MEMORY = 2.0, 50.0, 2.5
MEMORY_TARGET_FROM_ROWS = 1_000_000
N_COLUMNS = 29


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument("--rows", type=int, default=2_000_000, help="rows of the generated file (default 2,000,000)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument(
        "--work-dir",
        type=Path,
        default=Path(tempfile.gettempdir()) / "transferlab-bench-higgs",
        help="where the generated file is kept between invocations",
    )
    parser.add_argument("--repeats", type=int, default=2, help="measurements of each load, interleaved (default 2)")
    parser.add_argument(
        "--run-backends", default="jax,tensorflow", help="backends of the whole-run memory check ('' to skip)"
    )
    parser.add_argument(
        "--record", action="store_true", help="write/replace this benchmark's section of benchmarks/RESULTS.md"
    )
    parser.add_argument("--child", nargs=3, metavar=("KIND", "FILE", "CACHE_DIR"), help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def write_uci_like(path: Path, n_rows: int, seed: int, chunk: int = 100_000) -> None:
    """Seeded rows in the UCI file's exact layout: `%.18e` everywhere, label 0/1 first."""
    rng = np.random.default_rng(seed)
    line = ",".join(["%.18e"] * N_COLUMNS) + "\n"
    partial = path.with_suffix(".partial")
    with gzip.open(partial, "wt", compresslevel=6) as out:
        for start in range(0, n_rows, chunk):
            n = min(chunk, n_rows - start)
            rows = np.empty((n, N_COLUMNS))
            rows[:, 0] = rng.integers(0, 2, n)
            rows[:, 1:] = rng.standard_normal((n, N_COLUMNS - 1)).astype(np.float32)
            rows[:, 1:] += rows[:, :1] * 0.5  # a learnable signal for the run check
            out.write((line * n) % tuple(rows.ravel()))
    partial.replace(path)


def child(kind: str, file: str, cache_dir: str) -> None:
    """One measured load in this fresh process; prints JSON (seconds, MB above post-import RSS)."""
    import pandas as pd

    common.use_project_sources()
    from transferlab.data.row_cache import cached_rows, read_rows
    from transferlab.memory import peak_rss_mb, rss_mb

    start_mb = rss_mb()
    started = time.perf_counter()
    if kind == "pandas":
        frame = pd.read_csv(file, compression="gzip", header=None)
        arrays = frame.iloc[:, 1:].to_numpy(dtype=np.float32), frame.iloc[:, 0].to_numpy(dtype=np.float32)
        n_rows = len(arrays[0])
    else:
        rows = cached_rows(Path(file), Path(cache_dir), N_COLUMNS, 0, "dataset.loader.path")
        array = read_rows(rows, 0, rows.n_rows)
        n_rows = len(array)
    seconds = time.perf_counter() - started
    print(json.dumps({"seconds": seconds, "peak_mb": peak_rss_mb() - start_mb, "rows": n_rows}))


def measure(kind: str, file: Path, cache_dir: Path) -> dict:
    command = [sys.executable, __file__, "--child", kind, str(file), str(cache_dir)]
    result = subprocess.run(
        command, capture_output=True, text=True, check=True, env=dict(os.environ, PYTHONUNBUFFERED="1")
    )
    return json.loads(result.stdout.strip().splitlines()[-1])


def runs_at(file: Path, n_rows: int, backend: str, tmp: Path) -> list[dict]:
    """The whole-run measurements at one size: once on TensorFlow; on JAX with an empty
    compilation cache, then repeated with the cache that run filled."""
    compile_cache = tmp / f"jax_compilation-{n_rows}"
    if backend != "jax":
        return [run_memory(file, n_rows, backend, tmp, compile_cache, "none")]
    return [run_memory(file, n_rows, backend, tmp, compile_cache, state) for state in ("empty", "warm")]


def run_memory(file: Path, n_rows: int, backend: str, tmp: Path, compile_cache: Path, cache_state: str) -> dict:
    """A whole lora run on the first `n_rows` rows of `file` (train 60%, extra 30%, test 10%);
    its logged memory metrics."""
    import mlflow

    n_train, n_extra, n_test = int(n_rows * 0.6), int(n_rows * 0.3), int(n_rows * 0.1)
    uri = f"sqlite:///{tmp}/{backend}-{n_rows}-{cache_state}.db"
    command = [
        sys.executable,
        str(common.PROJECT_ROOT / "run.py"),
        "dataset=higgs",
        f"dataset.loader.path={file}",
        f"dataset.split.n_train={n_train}",
        f"dataset.split.n_extra={n_extra}",
        f"dataset.split.n_test={n_test}",
        "model=resnet_mlp",
        "strategy=lora",
        "callbacks=[default,trim_heap]",  # as experiment=higgs_lora_full
        "trainer.epochs=1",
        "trainer.batch_size=4096",
        "trainer.class_weight=null",
        "explainer=none",
        f"trainer.backend={backend}",
        f"tracking.uri={uri}",
        f"tracking.artifact_root={tmp}/mlruns",
        f"paths.cache_dir={tmp}/cache",
        f"trainer.compilation_cache_dir={compile_cache}",
        f"hydra.run.dir={tmp}/out-{backend}-{n_rows}",
    ]
    started = time.perf_counter()
    subprocess.run(command, check=True, capture_output=True, text=True, env=dict(os.environ, KERAS_BACKEND=backend))
    wall = time.perf_counter() - started
    mlflow.set_tracking_uri(uri)
    run = mlflow.search_runs(search_all_experiments=True, filter_string="tags.strategy = 'lora'").iloc[0]
    used = sum(run[f"metrics.{k}"] for k in ("n_train", "n_val", "n_extra", "n_test"))
    float32_mb = used * N_COLUMNS * 4 / 2**20
    growth = run["metrics.memory_peak_growth_mb"]
    return {
        "backend": backend,
        "compile_cache": cache_state,
        "rows": int(used),
        "float32_mb": float32_mb,
        "growth_mb": growth,
        "ratio": growth / float32_mb,
        "wall": wall,
        "accuracy": run["metrics.test_accuracy"],
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.child:
        child(*args.child)
        return 0
    args.work_dir.mkdir(parents=True, exist_ok=True)
    file = args.work_dir / f"HIGGS_like_{args.rows}_seed{args.seed}.csv.gz"
    if not file.exists():
        print(f"writing {file} ({args.rows:,} rows, UCI formatting; once) ...", flush=True)
        write_uci_like(file, args.rows, args.seed)
    print(f"{file.name}: {file.stat().st_size / 2**20:.0f} MiB gzip", flush=True)

    timings = {"pandas": [], "first": [], "cached": []}
    with tempfile.TemporaryDirectory(prefix="higgs-ingest-") as tmp:
        for repeat in range(args.repeats):
            cache_dir = Path(tmp) / f"cache{repeat}"
            for kind in ("pandas", "first", "cached"):
                timings[kind].append(measure(kind, file, cache_dir))
                print(
                    f"  {kind:7s} {timings[kind][-1]['seconds']:7.2f} s  peak +{timings[kind][-1]['peak_mb']:.0f} MB",
                    flush=True,
                )
        backends = list(filter(None, args.run_backends.split(",")))
        runs = [run for backend in backends for run in runs_at(file, args.rows, backend, Path(tmp))]
        small_runs = [run for backend in backends for run in runs_at(file, args.rows // 2, backend, Path(tmp))]

    best = {kind: min(t["seconds"] for t in values) for kind, values in timings.items()}
    peak = {kind: max(t["peak_mb"] for t in values) for kind, values in timings.items()}
    float32_mb = args.rows * N_COLUMNS * 4 / 2**20
    load_table = common.table(
        [
            "load",
            f"best of {args.repeats} (s)",
            "speed-up vs pandas",
            "peak RSS above imports (MB)",
            "peak / float32 size",
        ],
        [
            [
                name,
                f"{best[kind]:.2f}",
                f"{best['pandas'] / best[kind]:.1f}x",
                f"{peak[kind]:.0f}",
                f"{peak[kind] / float32_mb:.2f}x",
            ]
            for kind, name in (
                ("pandas", "seed 001: pandas read_csv + to_numpy(float32)"),
                ("first", "ours, first load (parse + cache)"),
                ("cached", "ours, cached load"),
            )
        ],
    )
    run_table = common.table(
        [
            "run backend",
            "compile cache",
            "rows used",
            "float32 size (MB)",
            "peak RSS growth (MB)",
            "growth / float32",
            "wall (s)",
            "test accuracy",
        ],
        [
            [
                r["backend"],
                r["compile_cache"],
                f"{r['rows']:,}",
                f"{r['float32_mb']:.0f}",
                f"{r['growth_mb']:.0f}",
                f"{r['ratio']:.2f}x",
                f"{r['wall']:.0f}",
                f"{r['accuracy']:.3f}",
            ]
            for r in runs + small_runs
        ],
    )
    first_ratio, cached_ratio = best["pandas"] / best["first"], best["pandas"] / best["cached"]
    summary = [
        f"- file: {args.rows:,} rows x {N_COLUMNS} columns, UCI formatting, {file.stat().st_size / 2**20:.0f} MiB gzip "
        f"(float32 size {float32_mb:.0f} MB)",
        f"- first load {first_ratio:.1f}x faster than pandas (target >= {TARGET_FIRST:g}x): "
        f"{'met' if first_ratio >= TARGET_FIRST else 'MISSED'}",
        f"- cached load {cached_ratio:.0f}x faster than pandas (target >= {TARGET_CACHED:g}x): "
        f"{'met' if cached_ratio >= TARGET_CACHED else 'MISSED'}",
    ]
    if runs:
        kinds = list(dict.fromkeys(run_kind(r) for r in runs))
        summary += [memory_verdict(kind, [r for r in runs + small_runs if run_kind(r) == kind]) for kind in kinds]
        summary += [growth_split(big, small) for big, small in zip(runs, small_runs)]
    body = "\n".join(
        [
            "Command: " + common.command_line(__file__, argv),
            "",
            *common.machine_lines("n/a (loads); " + (args.run_backends or "no run")),
            "",
            load_table,
            "",
            run_table,
            "",
            *summary,
        ]
    )
    common.print_report(load_table + "\n\n" + run_table, summary)
    if args.record:
        default = args.rows == parse_args([]).rows
        common.record_section(
            "higgs_ingest" + ("" if default else f"-{args.rows}_rows"),
            "HIGGS ingest: pyarrow float32 + .npy cache vs pandas; a run's peak memory"
            + ("" if default else f" ({args.rows:,} rows)"),
            body,
        )
    return 0


def run_kind(run: dict) -> str:
    """The backend, and on JAX the state of the compilation cache."""
    return run["backend"] + ("" if run["compile_cache"] == "none" else f" ({run['compile_cache']} compilation cache)")


def memory_verdict(kind: str, kind_runs: list[dict]) -> str:
    """The memory target for one kind of run, over its runs on >= 1M rows."""
    large = [r for r in kind_runs if r["rows"] >= MEMORY_TARGET_FROM_ROWS]
    if not large:
        return f"- {kind}: no run on >= {MEMORY_TARGET_FROM_ROWS:,} rows (use --rows 2000000 or more)"
    worst = max(large, key=lambda r: r["ratio"])
    return (
        f"- {kind}, whole run on >= {MEMORY_TARGET_FROM_ROWS:,} rows: "
        f"peak RSS growth <= {worst['ratio']:.2f}x the float32 rows "
        f"(worst at {worst['rows']:,} rows; target <= {TARGET_MEMORY:g}x): "
        f"{'met' if worst['ratio'] <= TARGET_MEMORY else 'MISSED'}"
    )


def growth_split(big: dict, small: dict) -> str:
    """A backend's run growth as fixed MB + MB per float32 MB of rows, from runs at two sizes, and
    the row count from which that line stays within the memory target."""
    per_mb = (big["growth_mb"] - small["growth_mb"]) / (big["float32_mb"] - small["float32_mb"])
    fixed = big["growth_mb"] - per_mb * big["float32_mb"]
    if per_mb < TARGET_MEMORY:
        rows = max(fixed, 0.0) / (TARGET_MEMORY - per_mb) * 2**20 / (N_COLUMNS * 4)
        within = f"within {TARGET_MEMORY:g}x from about {rows:,.0f} rows up"
    else:
        within = f"never within {TARGET_MEMORY:g}x (per-MB part alone exceeds it)"
    return (
        f"- {run_kind(big)}: growth = {fixed:.0f} MB fixed + {per_mb:.2f} MB per float32 MB of rows "
        f"(runs on {small['rows']:,} and {big['rows']:,} rows): {within}"
    )


if __name__ == "__main__":
    sys.exit(main())
