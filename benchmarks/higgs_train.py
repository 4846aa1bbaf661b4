"""HIGGS training throughput: seed 001's hand-written tf.function loop vs our fit_stage.

What is compared (same network, data, batch size, optimiser and loss; samples/s of training rows):

* seed: seed 001's loop as written (TensorFlow only): `tf.data.Dataset.from_tensor_slices((X, y))
  .shuffle(100_000, reshuffle_each_iteration=True).batch(B)`, Adam(1e-3), BinaryCrossentropy, a
  `@tf.function` train_step with a `tf.GradientTape` that also updates a Mean loss and a
  BinaryAccuracy metric, and a Python `for step, (xb, yb) in enumerate(dataset)` loop per epoch;
  no validation pass.
* ours: what `python run.py experiment=higgs_lora_full model=resnet_mlp strategy=scratch` runs
  for its training stage: `transferlab.training.fit_stage(model, "train", StageData(...),
  settings, "binary_crossentropy")` inside an MLflow run on a temporary SQLite store, with
  `settings` = the study's composed trainer config (batch 4096, Adam 1e-3, class_weight null,
  steps_per_execution auto) with early stopping off, so that exactly 1 + `--epochs` epochs run.
  It also evaluates a validation set after every epoch (`--val-fraction` extra rows, 5%, as the
  study's split has) and logs per-epoch metrics to MLflow: that work is inside its time, but only
  training rows count as samples. Run on each Keras backend (`--backends`, default: installed).

Both use `ResidualMLP().build_classifier(28, 2)` (78,081 parameters; seed 001 subclassed
keras.Model, this is the same math) seeded alike, on `--rows` (400,000) rows x 28 float32
features of seeded normal noise with a learnable 0/1 label (the cost does not depend on values).

Every measurement is its own subprocess (Keras fixes its backend per process); `--repeats` (3)
rounds run each path once, rotating the order, each run starting once no other process has been
runnable for 1 s (at most `--settle` seconds of waiting; Linux). Each run trains 1 warm-up epoch
(tracing/XLA compilation) and `--epochs` (3) timed epochs: seed epochs are timed with
perf_counter, ours from epoch 1's end to the last epoch's end (the MLflow timestamps of the
per-epoch metrics, taken after validation). The table reports the median over runs of the timed
epochs' samples/s, the best run, and samples/s over the whole fit including the warm-up epoch
(ours: fit_stage's `train_seconds`), and each path's accuracy on the validation rows after
training (the seed loop is scored after it finishes), which shows what a setting that changes the
arithmetic costs, e.g. `--trainer trainer.precision=mixed_bfloat16`. Targets (medians, against the
seed loop measured in the same run): best backend >= 2x, TensorFlow >= 1.2x. On a GPU (JAX;
TensorFlow is not needed, the seed loop is then skipped) it also prints the ratio to seed 001's
own GPU figure, 7.3 s per 2M-row epoch (about 274k samples/s).

    .venv/bin/python benchmarks/higgs_train.py [--rows 400000] [--epochs 3] [--repeats 3]
        [--backends tensorflow,jax] [--record]
"""

import argparse
import importlib.util
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

SECTION = "higgs_train"
TARGET_BEST, TARGET_TF = 2.0, 1.2
SEED_GPU_SAMPLES_PER_S = 2_000_000 / 7.3  # seed 001's GPU run: 7.3 s per epoch of 2M rows
N_FEATURES = 28
PATHS = {  # path -> (Keras backend, description)
    "seed": ("tensorflow", "seed 001 tf.function loop"),
    "ours-tensorflow": ("tensorflow", "transferlab fit_stage"),
    "ours-jax": ("jax", "transferlab fit_stage"),
}


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument("--rows", type=int, default=400_000, help="training rows (default 400000)")
    parser.add_argument(
        "--val-fraction",
        type=float,
        default=0.05,
        help="extra validation rows for ours, as a fraction of --rows (default 0.05)",
    )
    parser.add_argument("--batch-size", type=int, default=4096, help="batch size for both (default 4096, the study's)")
    parser.add_argument(
        "--epochs", type=int, default=3, help="timed epochs per run, after one warm-up epoch (default 3)"
    )
    parser.add_argument("--repeats", type=int, default=3, help="runs of each path, rotating the order (default 3)")
    parser.add_argument(
        "--backends",
        default=None,
        help="comma-separated Keras backends for our path: tensorflow, jax (default: those installed); "
        "the seed loop runs when TensorFlow is installed",
    )
    parser.add_argument("--no-seed", action="store_true", help="skip the seed loop (no ratios then)")
    parser.add_argument(
        "--trainer",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Hydra override for our path, e.g. --trainer trainer.steps_per_execution=1 (repeatable)",
    )
    parser.add_argument(
        "--settle",
        type=float,
        default=30.0,
        help="before each run, wait up to this many seconds for no other runnable process (default 30; 0 = no wait)",
    )
    parser.add_argument("--seed", type=int, default=42, help="data and weight seed (default 42)")
    parser.add_argument("--python", default=sys.executable, help="interpreter for the subprocesses (default: this one)")
    parser.add_argument("--strict", action="store_true", help="also exit 3 when a target is missed")
    parser.add_argument(
        "--record", action="store_true", help="write/replace this benchmark's section of benchmarks/RESULTS.md"
    )
    parser.add_argument(
        "--worker", choices=sorted(PATHS), default=None, help=argparse.SUPPRESS
    )  # internal: one measurement
    return parser.parse_args(argv)


# --- inside a worker subprocess -------------------------------------------------------------


def make_data(rows: int, val_rows: int, seed: int):
    """Seeded normal features with a noisy linear 0/1 label: (x, y, x_val, y_val), float32."""
    import numpy as np

    rng = np.random.default_rng(seed)
    x = rng.standard_normal((rows + val_rows, N_FEATURES), dtype=np.float32)
    logits = x @ rng.standard_normal(N_FEATURES).astype(np.float32) / np.sqrt(N_FEATURES) + rng.standard_normal(
        rows + val_rows
    ).astype(np.float32)
    y = (logits > 0).astype(np.float32)
    return x[:rows], y[:rows], x[rows:], y[rows:]


def build_model(seed: int):
    """Seed 001's network, seeded: `ResidualMLP().build_classifier(28, 2)`."""
    import keras

    from transferlab.data.inputs import table_input
    from transferlab.models.resnet_mlp import ResidualMLP

    keras.utils.set_random_seed(seed)
    columns = [f"f{i}" for i in range(N_FEATURES)]
    return ResidualMLP().build_classifier({"features": table_input("features", columns, columns)}, 2)


def seed001_loop(model, x, y, batch_size: int, epochs: int) -> list[float]:
    """Seed 001's training loop as written; returns the seconds of each epoch."""
    import keras
    import tensorflow as tf

    dataset = (
        tf.data.Dataset.from_tensor_slices((x, y)).shuffle(100_000, reshuffle_each_iteration=True).batch(batch_size)
    )
    optimizer = keras.optimizers.Adam(1e-3)
    loss_fn = keras.losses.BinaryCrossentropy()
    train_loss = keras.metrics.Mean(name="train_loss")
    train_accuracy = keras.metrics.BinaryAccuracy(name="train_accuracy")

    @tf.function
    def train_step(x, y):
        with tf.GradientTape() as tape:
            p = model(x, training=True)
            loss = loss_fn(y, p)
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        train_loss.update_state(loss)
        train_accuracy.update_state(y, p)

    seconds = []
    for _ in range(epochs):
        started = time.perf_counter()
        train_loss.reset_state()
        train_accuracy.reset_state()
        for step, (xb, yb) in enumerate(dataset):
            train_step(xb, yb)
        float(train_loss.result()), float(train_accuracy.result())  # seed 001 prints both per epoch
        seconds.append(time.perf_counter() - started)
    return seconds


def study_settings(backend: str, epochs: int, batch_size: int, overrides: list[str]):
    """The trainer settings of the HIGGS study's base training stage, early stopping off."""
    from transferlab.config_checks import stage_settings

    cfg = common.composed_config(
        [
            "experiment=higgs_lora_full",
            "model=resnet_mlp",
            "strategy=scratch",
            f"trainer.backend={backend}",
            f"trainer.epochs={epochs}",
            f"trainer.batch_size={batch_size}",
            "trainer.callbacks.early_stopping=null",
            *overrides,
        ]
    )
    return stage_settings(cfg, "train")


def ours_fit(settings, data, seed: int, store: Path) -> dict:
    """fit_stage in an MLflow run on a temporary store; fit seconds and epoch-end timestamps."""
    import mlflow

    from transferlab.runtime import configure_keras
    from transferlab.tracking.store import use_experiment
    from transferlab.training import StageData, fit_stage

    experiment_id = use_experiment(f"sqlite:///{store / 'mlflow.db'}", "higgs_train_bench", str(store / "mlruns"))
    configure_keras(settings.device, settings.precision)  # dtype policy, as run_job does
    model = build_model(seed)
    with mlflow.start_run(experiment_id=experiment_id) as parent:
        x, y, x_val, y_val = data  # named inputs, as the pipeline feeds them
        summary = fit_stage(
            model, "train", StageData({"features": x}, y, {"features": x_val}, y_val), settings, "binary_crossentropy"
        )
    client = mlflow.MlflowClient()
    child = client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")[0]
    stamps = sorted((m.step, m.timestamp / 1000.0) for m in client.get_metric_history(child.info.run_id, "val_loss"))
    resolved = {
        k: child.data.params[f"stage.{k}"] for k in ("jit_compile", "steps_per_execution", "feed")
    }  # as fit_stage logged them
    return {
        "train_seconds": summary["train_seconds"],
        "epoch_ends": [t for _, t in stamps],
        "params": summary["total_params"],
        "val_accuracy": child.data.metrics["val_accuracy"],
    } | resolved  # the last epoch's, as logged


def accuracy(model, x, y) -> float:
    """Accuracy at the 0.5 threshold, as Keras' `accuracy` metric reports it for ours."""
    from sklearn.metrics import accuracy_score

    from transferlab.evaluation.metrics import predict_array

    return float(accuracy_score(y > 0.5, predict_array(model, {"features": x})[:, 0] > 0.5))


def device_name(backend: str) -> str:
    """The accelerator Keras computes on, e.g. 'cpu' or 'gpu (NVIDIA H100 80GB HBM3)'."""
    if backend == "jax":
        import jax

        device = jax.devices()[0]
        return "cpu" if device.platform == "cpu" else f"gpu ({device.device_kind})"
    import tensorflow as tf

    gpus = tf.config.list_physical_devices("GPU")
    return f"gpu ({len(gpus)})" if gpus else "cpu"


def worker(args) -> None:
    """One measurement of one path; prints a BENCH line with its JSON result."""
    backend = PATHS[args.worker][0]
    from transferlab.runtime import select_backend

    select_backend(backend, "auto")
    x, y, x_val, y_val = make_data(args.rows, round(args.rows * args.val_fraction), args.seed)
    timed = 1 + args.epochs
    if args.worker == "seed":
        model = build_model(args.seed)
        seconds = seed001_loop(model, x, y, args.batch_size, timed)
        result = {
            "first": seconds[0],
            "epochs": seconds[1:],
            "total": sum(seconds),
            "params": model.count_params(),
            "val_accuracy": accuracy(model, x_val, y_val),
        }
    else:
        settings = study_settings(backend, timed, args.batch_size, args.trainer)
        with tempfile.TemporaryDirectory(prefix="bench_higgs_") as tmp:
            fit = ours_fit(settings, (x, y, x_val, y_val), args.seed, Path(tmp))
        ends = fit.pop("epoch_ends")
        seconds = [b - a for a, b in zip(ends, ends[1:])]
        result = fit | {"first": fit["train_seconds"] - sum(seconds), "epochs": seconds, "total": fit["train_seconds"]}
    result |= {"device": device_name(backend), "steady": sum(result["epochs"])}
    print("BENCH " + json.dumps(result), flush=True)


# --- the driver -----------------------------------------------------------------------------


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def chosen_paths(args) -> tuple[list[str], list[str]]:
    """The paths to measure, and notes on those skipped."""
    backends = args.backends.split(",") if args.backends else [b for b in ("tensorflow", "jax") if installed(b)]
    unknown = set(backends) - {"tensorflow", "jax"}
    if unknown:
        sys.exit(f"error: unknown backend(s) {', '.join(sorted(unknown))}; choose from tensorflow, jax")
    paths, notes = [], []
    if args.no_seed:
        notes.append("seed loop skipped (--no-seed): no ratios")
    elif installed("tensorflow"):
        paths.append("seed")
    else:
        notes.append("seed loop skipped: TensorFlow is not installed (it is TensorFlow code); no ratios against it")
    for backend in backends:
        if installed(backend):
            paths.append(f"ours-{backend}")
        else:
            notes.append(f"ours on {backend} skipped: {backend} is not installed")
    return paths, notes


def run_worker(args, path: str) -> dict:
    """Run one measurement in a fresh interpreter and return its BENCH result."""
    command = [
        args.python,
        __file__,
        "--worker",
        path,
        "--rows",
        str(args.rows),
        "--val-fraction",
        str(args.val_fraction),
        "--batch-size",
        str(args.batch_size),
        "--epochs",
        str(args.epochs),
        "--seed",
        str(args.seed),
        *(f"--trainer={o}" for o in args.trainer),
    ]
    env = dict(os.environ, KERAS_BACKEND=PATHS[path][0], TF_CPP_MIN_LOG_LEVEL="2")
    env.pop("MLFLOW_TRACKING_URI", None)
    done = subprocess.run(command, env=env, capture_output=True, text=True, cwd=common.PROJECT_ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("BENCH ")]
    if done.returncode != 0 or not lines:
        tail = "\n".join((done.stdout + done.stderr).strip().splitlines()[-25:])
        sys.exit(f"error: worker {path} exited {done.returncode}:\n  {' '.join(command)}\n{tail}")
    return json.loads(lines[-1][len("BENCH ") :])


def wait_for_idle(limit_s: float) -> bool:
    """Wait, at most `limit_s`, until no other process has been runnable for 1 s (the running
    count in /proc/loadavg, which includes this one); True when that happened."""
    loadavg = Path("/proc/loadavg")
    if limit_s <= 0 or not loadavg.exists():
        return False
    deadline, calm = time.monotonic() + limit_s, 0
    while calm < 10:
        if time.monotonic() > deadline:
            return False
        time.sleep(0.1)
        calm = calm + 1 if int(loadavg.read_text().split()[3].split("/")[0]) <= 1 else 0
    return True


def measure(args, paths: list[str]) -> dict[str, list[dict]]:
    """`--repeats` rounds, each running every path once, the order rotated per round."""
    runs = {path: [] for path in paths}
    for rep in range(args.repeats):
        for path in paths[rep % len(paths) :] + paths[: rep % len(paths)]:
            idle = wait_for_idle(args.settle)
            run = run_worker(args, path) | {"idle_start": idle}
            run["rate"] = args.rows * args.epochs / run["steady"]
            runs[path].append(run)
            print(
                f"  round {rep + 1} {path:15s}: {run['rate']:9,.0f} samples/s "
                f"(epochs {' + '.join(f'{s:.2f}' for s in run['epochs'])} s), "
                f"warm-up epoch {run['first']:.2f} s, started {'idle' if idle else 'busy'}, "
                f"load {common.load_average()}",
                flush=True,
            )
    return runs


def summarize(args, runs: dict[str, list[dict]]) -> tuple[str, list[str], bool]:
    """The result table, the summary lines and whether every target was met."""
    rates = {path: common.median([r["rate"] for r in path_runs]) for path, path_runs in runs.items()}
    best = {path: max(r["rate"] for r in path_runs) for path, path_runs in runs.items()}
    rows = []
    for path, path_runs in runs.items():
        whole = common.median([args.rows * (1 + args.epochs) / r["total"] for r in path_runs])
        rows.append(
            [
                PATHS[path][1],
                PATHS[path][0],
                path_runs[0]["device"],
                f"{rates[path]:,.0f}",
                f"{best[path]:,.0f}",
                f"{whole:,.0f}",
                f"{common.median([r['first'] for r in path_runs]):.2f}",
                f"{common.median([r['val_accuracy'] for r in path_runs]):.4f}",
                f"{rates[path] / rates['seed']:.2f}x" if "seed" in rates else "-",
                f"{best[path] / best['seed']:.2f}x" if "seed" in best else "-",
            ]
        )
    result_table = common.table(
        [
            "path",
            "backend",
            "device",
            f"samples/s (median of {args.repeats})",
            "samples/s (best run)",
            "samples/s incl. warm-up epoch",
            "warm-up epoch s",
            "val accuracy",
            "vs seed (medians)",
            "vs seed (best runs)",
        ],
        rows,
    )
    checks = target_checks(rates)
    lines = [
        f"{label} = {ratio:.2f}x (target >= {target:g}x): {'MET' if ratio >= target else 'MISSED'}"
        for label, ratio, target in checks
    ]
    lines += gpu_lines(rates, runs) + compile_lines(runs) + [epoch_spread(args, runs)]
    idle = sum(r["idle_start"] for path_runs in runs.values() for r in path_runs)
    lines.append(
        f"{idle} of {sum(map(len, runs.values()))} runs started with no other process runnable "
        f"(--settle {args.settle:g} s); "
        "every run's samples/s: "
        + "; ".join(
            f"{path} " + ", ".join(f"{r['rate'] / 1000:.0f}k" for r in path_runs) for path, path_runs in runs.items()
        )
    )
    return result_table, lines, all(ratio >= target for _, ratio, target in checks)


def epoch_spread(args, runs: dict[str, list[dict]]) -> str:
    """Each path's fastest timed epoch and how many took over 1.4x as long (pauses or load)."""
    parts = []
    for path, path_runs in runs.items():
        epochs = [s for r in path_runs for s in r["epochs"]]
        slow = sum(s > 1.4 * min(epochs) for s in epochs)
        parts.append(
            f"{path} {args.rows / min(epochs) / 1000:.0f}k ({slow} of {len(epochs)} epochs > 1.4x its fastest)"
        )
    return "fastest timed epoch, samples/s: " + "; ".join(parts)


def target_checks(rates: dict[str, float]) -> list[tuple[str, float, float]]:
    """(label, ratio of medians, target) for each target that this run can check."""
    base = rates.get("seed")
    ours = {path: rate for path, rate in rates.items() if path != "seed"}
    if not base or not ours:
        return []
    fastest = max(ours, key=ours.get)
    checks = [(f"best backend ({PATHS[fastest][0]}) / seed loop", ours[fastest] / base, TARGET_BEST)]
    if "ours-tensorflow" in ours:
        checks.append(("TensorFlow fit_stage / seed loop", ours["ours-tensorflow"] / base, TARGET_TF))
    return checks


def gpu_lines(rates: dict[str, float], runs: dict[str, list[dict]]) -> list[str]:
    """Our paths that ran on a GPU, against seed 001's own GPU figure."""
    return [
        f"{PATHS[path][0]} on {runs[path][0]['device']}: {rate:,.0f} samples/s = "
        f"{rate / SEED_GPU_SAMPLES_PER_S:.2f}x seed 001's own "
        f"GPU figure (7.3 s per 2M-row epoch = {SEED_GPU_SAMPLES_PER_S:,.0f} samples/s; its GPU model is unknown)"
        for path, rate in rates.items()
        if path != "seed" and runs[path][0]["device"].startswith("gpu")
    ]


def compile_lines(runs: dict[str, list[dict]]) -> list[str]:
    """How fit_stage compiled the model and fed the rows on each backend ("auto" settings resolve per backend)."""
    return [
        f"fit_stage on {PATHS[path][0]} compiled with jit_compile={path_runs[0]['jit_compile']}, "
        f"steps_per_execution={path_runs[0]['steps_per_execution']}, feed={path_runs[0]['feed']}"
        for path, path_runs in runs.items()
        if path != "seed"
    ]


def record(args, argv, result_table: str, summary: list[str], runs: dict[str, list[dict]]) -> None:
    devices = sorted({r["device"] for path_runs in runs.values() for r in path_runs})
    backends = " + ".join(dict.fromkeys(PATHS[path][0] for path in runs))
    machine = [
        line.replace("no GPU used", "devices: " + ", ".join(devices))
        for line in common.machine_lines(backends + " (one subprocess per run)")
    ]
    body = "\n".join(
        [
            "Command: " + common.command_line(__file__, argv),
            "",
            "Seed 001's `tf.data` + `@tf.function` GradientTape loop vs `transferlab.training.fit_stage` with the "
            "HIGGS study's trainer settings (`experiment=higgs_lora_full model=resnet_mlp strategy=scratch`, early "
            "stopping off), same network (`ResidualMLP().build_classifier(28, 2)`, "
            f"{runs[next(iter(runs))][0]['params']:,} parameters), {args.rows:,} rows x 28 float32 features (seeded "
            f"noise, learnable label), batch {args.batch_size}, Adam 1e-3. Ours also validates on "
            f"{round(args.rows * args.val_fraction):,} extra rows after every epoch and logs per-epoch metrics to a "
            "temporary MLflow store (inside its time; only training rows count). Val accuracy: median over the runs "
            "of the trained model's accuracy on those rows (seed: computed after its loop; ours: the last epoch's "
            "logged `val_accuracy`), so that settings which change the arithmetic (e.g. `trainer.precision`) show "
            f"what they cost in quality. Every run is a subprocess: 1 warm-up epoch, then {args.epochs} timed epochs; "
            f"{args.repeats} rounds in rotating order, each run started once no other process was runnable for 1 s "
            f"(waiting at most {args.settle:g} s); samples/s = median over the runs of rows x timed epochs / their "
            "seconds.",
            "",
            *machine,
            "",
            result_table,
            "",
            *[f"- {line}" for line in summary],
        ]
    )
    variant = (
        ([f"{args.rows} rows"] if args.rows != 400_000 else [])
        + ([f"batch {args.batch_size}"] if args.batch_size != 4096 else [])
        + args.trainer
    )
    common.record_section(
        "-".join([SECTION, *(v.replace(" ", "_") for v in variant)]),
        "HIGGS training throughput: seed 001 loop vs fit_stage" + (f" ({', '.join(variant)})" if variant else ""),
        body,
    )


def main(argv=None) -> int:
    args = parse_args(argv)
    common.use_project_sources()
    if args.worker:
        worker(args)
        return 0
    paths, notes = chosen_paths(args)
    if not paths:
        sys.exit("error: nothing to measure (" + "; ".join(notes) + ")")
    print(
        f"{args.rows:,} rows x {N_FEATURES} features "
        f"(+{round(args.rows * args.val_fraction):,} validation rows for ours), "
        f"batch {args.batch_size}, 1 warm-up + {args.epochs} timed epochs per run, "
        f"{args.repeats} rounds of: {', '.join(paths)}",
        flush=True,
    )
    for note in notes:
        print(f"note: {note}", flush=True)
    runs = measure(args, paths)
    result_table, summary, met = summarize(args, runs)
    summary += notes
    common.print_report(result_table, summary)
    if args.record:
        record(args, argv, result_table, summary, runs)
    return 3 if args.strict and not met else 0


if __name__ == "__main__":
    sys.exit(main())
