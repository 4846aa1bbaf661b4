"""GPU checks in one run on Keras' JAX backend: HIGGS training throughput by batch size, the MNIST
CNN's epoch time and one HAM10000 early-fusion epoch, each through the pipeline's own training path.

Each check composes its study's config (experiment + arm, as that study's sweep job does; early
stopping and explainers off), loads the data with the dataset's own loader, builds the model with
the config's builder and trains it with the strategy's own `train` (`fit_stage`, inside an MLflow
run on a temporary SQLite store), on `trainer.device=auto` (the GPU when JAX sees one). Each fit
is 1 warm-up epoch (tracing and XLA compilation, reported apart) + `--epochs` (2) timed epochs,
timed from the stage's per-epoch MLflow timestamps (the validation pass after each epoch is inside
that time; only training rows count as samples).

1. HIGGS (`experiment=higgs_lora_full arm=resnet_mlp_scratch`): a generated `--higgs-rows`
   (2,000,000) row file in the UCI layout (gzip CSV, no header, label then 28 features, `%.18e`),
   written with a fixed seed by all CPU cores, read by the HIGGS loader (parse + float32 cache;
   split: the last 1% tests, 5% of the rest validates); trained once per `--batch-sizes`
   (1024,4096,16384,65536). The fastest is judged against seed 001's own GPU figure (7.3 s per
   2M-row epoch, ~274k samples/s): target >= 20x (MET/MISSED), on a GPU only.
2. MNIST CNN (`experiment=mnist_transfer arm=cnn_scratch`: the `cnn` model at 32x32, batch 128):
   <data dir>/mnist/mnist.npz, else (or with --synthetic) random uint8 digits of MNIST's shapes
   (60,000 + 10,000 images, 28x28), said so in the output.
3. HAM10000 early fusion (`experiment=ham10000_fusion arm=ham10000_early strategy.branches=joint`:
   metadata MLP + cnn_small image branch, one "fusion" stage, batch 32): the metadata CSV and the
   28x28 RGB subset under <data dir>/ham10000/, else synthetic ones of their layout (5,984
   lesions, one image each, HAM10000's class mix).

--quick runs the same path small (20,000 HIGGS rows at batch 1024 and 4096, a 3,000-image MNIST
subset, 1 timed epoch), for a CPU. On a CPU the table says so and no verdict is given.
TensorFlow is never imported (the check fails if it was): the GPU machine has none.

    KERAS_BACKEND=jax .venv/bin/python benchmarks/gpu_checks.py [--quick] [--synthetic] [--record]
    benchmarks/gpu.sh [--quick]    # on the lent GPU machine: wheels, log and results to $OUT
"""

import logging
import multiprocessing
import os
import shutil
import sys
import tempfile
import time
import traceback
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402
import higgs_ingest  # noqa: E402
import higgs_train  # noqa: E402

SECTION = "gpu_checks"
TARGET_X = 20.0  # x seed 001's own GPU figure
SEED_GPU = higgs_train.SEED_GPU_SAMPLES_PER_S
HIGGS_CHUNK = 125_000  # rows per gzip member, one per worker task
MNIST_SHAPES = {"x_train": (60_000, 28, 28), "x_test": (10_000, 28, 28)}
HAM_ROWS = 5_984  # the shared subset: one image per lesion
HAM_CLASSES = {  # images per class in all of HAM10000
    "nv": 6705,
    "mel": 1113,
    "bkl": 1099,
    "bcc": 514,
    "akiec": 327,
    "vasc": 142,
    "df": 115,
}
HAM_VALUES = {
    "dx_type": ["histo", "follow_up", "consensus", "confocal"],
    "sex": ["male", "female"],
    "localization": ["back", "lower extremity", "trunk", "upper extremity", "abdomen", "face", "chest", "foot"],
}
EVERY_CHECK = [  # fixed epochs, no explanations, JAX on the GPU when there is one
    "trainer.callbacks.early_stopping=null",
    "explainer=none",
    "trainer.backend=jax",
    "trainer.device=auto",
]
HIGGS, MNIST, FUSION = "HIGGS resnet_mlp", "MNIST cnn", "HAM10000 early fusion"
CHECKS = {  # name -> the study's config, as its sweep job composes it
    HIGGS: ["experiment=higgs_lora_full", "arm=resnet_mlp_scratch"],
    MNIST: ["experiment=mnist_transfer", "arm=cnn_scratch"],
    FUSION: [
        "experiment=ham10000_fusion",
        "arm=ham10000_early",
        "strategy.branches=joint",
        "strategy.stages.fusion.epochs=${trainer.epochs}",
        "strategy.stages.fusion.callbacks.early_stopping=null",
    ],
}


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument("--quick", action="store_true", help="small sizes and 1 timed epoch (a CPU check)")
    parser.add_argument("--higgs-rows", type=int, default=None, help="rows of the HIGGS file (2,000,000; quick 20,000)")
    parser.add_argument(
        "--batch-sizes", default=None, help="HIGGS batch sizes (1024,4096,16384,65536; quick 1024,4096)"
    )
    parser.add_argument("--epochs", type=int, default=None, help="timed epochs per fit after 1 warm-up (2; quick 1)")
    parser.add_argument("--mnist-subset", type=int, default=None, help="stratified MNIST training subset (quick 3000)")
    parser.add_argument("--synthetic", action="store_true", help="generate MNIST and HAM10000 even when present")
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=common.default_data_dir(),
        help=f"folder of the real mnist/ and ham10000/ files (${common.DATA_DIR_ENV} or {common.DEFAULT_DATA_DIR})",
    )
    parser.add_argument(
        "--work-dir", type=Path, default=None, help="where the temporary data and stores go (default: the system's)"
    )
    parser.add_argument(
        "--override", action="append", default=[], metavar="KEY=VALUE", help="extra Hydra override for every check"
    )
    parser.add_argument("--seed", type=int, default=0, help="seed of the generated data (default 0)")
    parser.add_argument("--strict", action="store_true", help="exit 3 when the GPU throughput target is missed")
    parser.add_argument("--record", action="store_true", help="write/replace this section of benchmarks/RESULTS.md")
    args = parser.parse_args(argv)
    quick = args.quick
    args.higgs_rows = args.higgs_rows or (20_000 if quick else 2_000_000)
    args.batch_sizes = [
        int(b) for b in (args.batch_sizes or ("1024,4096" if quick else "1024,4096,16384,65536")).split(",")
    ]
    args.epochs = args.epochs or (1 if quick else 2)
    args.mnist_subset = args.mnist_subset or (3000 if quick else None)
    return args


# --- generated data -------------------------------------------------------------------------


def write_higgs(path: Path, rows: int, seed: int) -> None:
    """A HIGGS.csv.gz in the UCI layout: one gzip member per HIGGS_CHUNK rows (member i seeded with
    seed + i), written by all cores and concatenated, one gzip stream whatever the core count.
    Spawned workers: safe whatever threads this process has started."""
    starts = range(0, rows, HIGGS_CHUNK)
    parts = [path.with_name(f"{path.stem}.{i}.gz") for i in range(len(starts))]
    sizes = [min(HIGGS_CHUNK, rows - start) for start in starts]
    spawn = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(min(len(parts), os.cpu_count() or 1), mp_context=spawn) as pool:
        list(pool.map(higgs_ingest.write_uci_like, parts, sizes, [seed + i for i in range(len(parts))]))
    with path.open("wb") as out:
        for part in parts:
            with part.open("rb") as member:
                shutil.copyfileobj(member, out)
            part.unlink()


def write_mnist(path: Path, seed: int) -> None:
    """Random uint8 images and 0..9 labels in Keras' mnist.npz layout and shapes."""
    rng = np.random.default_rng(seed)
    arrays = {}
    for name, shape in MNIST_SHAPES.items():
        arrays[name] = rng.integers(0, 256, shape, dtype=np.uint8)
        arrays[name.replace("x_", "y_")] = rng.integers(0, 10, shape[0], dtype=np.uint8)
    np.savez(path, **arrays)


def write_ham10000(folder: Path, seed: int, rows: int = HAM_ROWS) -> None:
    """HAM10000_metadata.csv (one lesion per image, HAM10000's class mix, ages 0..85 in steps of 5)
    and ham10000_28x28_rgb_subset.npz (random uint8 28x28 RGB images, keyed by image_id)."""
    import pandas as pd

    rng = np.random.default_rng(seed)
    counts = np.array(list(HAM_CLASSES.values()))
    image_ids = np.array([f"ISIC_{i:07d}" for i in range(rows)])
    frame = pd.DataFrame(
        {
            "lesion_id": [f"HAM_{i:07d}" for i in range(rows)],
            "image_id": image_ids,
            "dx": rng.choice(list(HAM_CLASSES), rows, p=counts / counts.sum()),
            **{column: rng.choice(values, rows) for column, values in HAM_VALUES.items()},
            "age": np.clip(np.round(rng.normal(52, 17, rows) / 5) * 5, 0, 85),
        }
    )
    frame.to_csv(folder / "HAM10000_metadata.csv", index=False)
    images = rng.integers(0, 256, (rows, 28, 28, 3), dtype=np.uint8)
    np.savez(folder / "ham10000_28x28_rgb_subset.npz", images=images, image_id=image_ids)


def real_or_generated(real: Path, names: list[str], target: Path, write, what: str, synthetic: bool) -> str:
    """Link the real files `names` of folder `real` into `target`, or call write(target), which
    writes `what`, when one is missing (or `synthetic`); says which."""
    target.mkdir(parents=True, exist_ok=True)
    if not synthetic and all((real / name).is_file() for name in names):
        for name in names:
            (target / name).symlink_to((real / name).resolve())
        return f"real files {', '.join(str(real / name) for name in names)}"
    write(target)
    why = "--synthetic" if synthetic else f"no {' / '.join(names)} in {real}"
    return f"SYNTHETIC: {what}, in the real files' layout ({why})"


def generate_data(args, folder: Path) -> dict[str, str]:
    """The data folder of the three checks; the source of each dataset, in words."""
    started = time.perf_counter()
    higgs = folder / "higgs" / "HIGGS.csv.gz"
    higgs.parent.mkdir(parents=True)
    write_higgs(higgs, args.higgs_rows, args.seed)
    return {
        HIGGS: f"generated {args.higgs_rows:,}-row HIGGS.csv.gz (UCI layout, seed {args.seed}, "
        f"{higgs.stat().st_size / 2**20:,.0f} MiB, written in {time.perf_counter() - started:.1f} s)",
        MNIST: real_or_generated(
            args.data_dir / "mnist",
            ["mnist.npz"],
            folder / "mnist",
            lambda target: write_mnist(target / "mnist.npz", args.seed),
            "60,000 + 10,000 random uint8 28x28 images, random labels 0..9",
            args.synthetic,
        ),
        FUSION: real_or_generated(
            args.data_dir / "ham10000",
            ["HAM10000_metadata.csv", "ham10000_28x28_rgb_subset.npz"],
            folder / "ham10000",
            lambda target: write_ham10000(target, args.seed),
            f"{HAM_ROWS:,} lesions of random metadata and random uint8 28x28 RGB images",
            args.synthetic,
        ),
    }


# --- training through the pipeline ---------------------------------------------------------


def composed(check: str, args, extra: list[str]):
    """The check's job config: its study, early stopping off, 1 warm-up + args.epochs epochs."""
    overrides = [*CHECKS[check], *EVERY_CHECK, f"trainer.epochs={1 + args.epochs}", *extra, *args.override]
    return common.composed_config(overrides)


def trained(cfg, data, store: Path) -> dict:
    """cfg's strategy trains cfg's model on `data` as run_job does (Keras configured, seeded, one
    MLflow run on `store`); its one stage's seconds per epoch and logged settings."""
    import keras
    import mlflow

    from transferlab.config_checks import stage_settings
    from transferlab.pipeline import build_model, build_strategy
    from transferlab.runtime import configure_keras, seed_everything
    from transferlab.tracking.store import use_experiment

    configure_keras(cfg.trainer.device, cfg.trainer.precision)
    strategy = build_strategy(cfg.strategy)
    builder = strategy.starting_builder(build_model(cfg.model))
    experiment_id = use_experiment(f"sqlite:///{store / 'mlflow.db'}", SECTION, str(store / "mlruns"))
    seed_everything(cfg.trainer.seed)
    with mlflow.start_run(experiment_id=experiment_id) as parent:
        (summary,) = strategy.train(builder, data, lambda stage: stage_settings(cfg, stage)).stage_metrics.values()
    keras.backend.clear_session()
    client = mlflow.MlflowClient()
    child = client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")[0]
    ends = sorted(m.timestamp / 1000.0 for m in client.get_metric_history(child.info.run_id, "val_loss"))
    epochs = [b - a for a, b in zip(ends, ends[1:])]
    return {
        "first": summary["train_seconds"] - sum(epochs),
        "epoch": common.median(epochs),
        "rate": data.train.n_rows * len(epochs) / sum(epochs),
        "rows": data.train.n_rows,
        "val_accuracy": child.data.metrics["val_accuracy"],
        "params": int(summary["total_params"]),
        "settings": {k: child.data.params[f"stage.{k}"] for k in ("batch_size", "steps_per_execution", "feed")},
    }


def loaded(check: str, cfg, cache: dict):
    """The check's PreparedData, loaded once per check (HIGGS: the file parsed into its cache)."""
    from transferlab.data.loading import load_prepared

    if check not in cache:
        started = time.perf_counter()
        cache[check] = load_prepared(cfg.dataset)
        print(f"  {check}: data loaded in {time.perf_counter() - started:.1f} s", flush=True)
    return cache[check]


def measured(check: str, cfg, store: Path, cache: dict) -> dict:
    """One fit, printed as it ends. A failure becomes a row saying so: one failed check must not
    cost the others their (scarce) device time."""
    from transferlab.errors import first_line

    try:
        result = {"check": check} | trained(cfg, loaded(check, cfg, cache), store)
    except Exception as err:
        traceback.print_exc()
        result = {"check": check, "error": f"{type(err).__name__}: {first_line(err)}"[:200]}
        print(f"  {check}: FAILED, {result['error']}", flush=True)
        return result
    print(
        f"  {check}, batch {result['settings']['batch_size']}: warm-up epoch {result['first']:.2f} s, "
        f"epoch {result['epoch']:.2f} s, {result['rate']:,.0f} samples/s",
        flush=True,
    )
    return result


def run_checks(args, store: Path) -> list[dict]:
    """HIGGS at each batch size, then the MNIST CNN, then the fusion epoch."""
    n_test = args.higgs_rows // 100
    split = [f"dataset.split.n_train={args.higgs_rows - n_test}", f"dataset.split.n_test={n_test}"]
    jobs = [(HIGGS, [*split, "dataset.split.n_extra=0", f"trainer.batch_size={b}"]) for b in args.batch_sizes]
    jobs += [(MNIST, [f"dataset.split.subset={args.mnist_subset}"] if args.mnist_subset else []), (FUSION, [])]
    cache = {}
    return [measured(check, composed(check, args, extra), store, cache) for check, extra in jobs]


# --- the report -----------------------------------------------------------------------------


def table_row(result: dict, best: dict | None) -> list:
    """One fit's row; a failed one shows its error in the last column."""
    if "error" in result:
        return [result["check"], *["-"] * 7, f"FAILED: {result['error']}"]
    settings = result["settings"]
    return [
        result["check"] + (" (fastest)" if result is best else ""),
        settings["batch_size"],
        f"{result['rows']:,}",
        f"{result['params']:,}",
        f"{result['first']:.2f}",
        f"{result['epoch']:.2f}",
        f"{result['rate']:,.0f}",
        f"{result['val_accuracy']:.4f}",
        f"{settings['steps_per_execution']} / {settings['feed']}",
    ]


def higgs_verdict(best: dict | None, on_gpu: bool) -> tuple[str, bool | None]:
    """The summary line of the fastest HIGGS fit against the target, and whether it is met (None: no verdict)."""
    if best is None:
        return "HIGGS: no batch size trained (see the FAILED rows)", False if on_gpu else None
    ratio = best["rate"] / SEED_GPU
    met = ratio >= TARGET_X if on_gpu else None
    verdict = {True: "MET", False: "MISSED", None: "no verdict: NOT A GPU (a CPU check of the path)"}[met]
    line = (
        f"HIGGS fastest: batch {best['settings']['batch_size']}, {best['rate']:,.0f} samples/s = {ratio:.2f}x "
        f"seed 001's own GPU figure ({SEED_GPU:,.0f} samples/s); "
        f"target >= {TARGET_X:g}x ({TARGET_X * SEED_GPU:,.0f}): {verdict}"
    )
    return line, met


def report(args, results: list[dict], sources: dict[str, str], device: str) -> tuple[str, list[str], bool | None]:
    """The result table, the summary lines and the verdict (None: not a GPU, no verdict)."""
    higgs = [r for r in results if r["check"] == HIGGS and "error" not in r]
    best = max(higgs, key=lambda r: r["rate"]) if higgs else None
    headers = ["check", "batch", "train rows", "params", "warm-up epoch s", "epoch s", "samples/s", "val acc"]
    result_table = common.table([*headers, "steps/exec / feed"], [table_row(r, best) for r in results])
    on_gpu = device.startswith("gpu")
    verdict_line, met = higgs_verdict(best, on_gpu)
    summary = [
        f"device: {device}" + ("" if on_gpu else " -- CPU run: the figures check the path, they are no GPU result"),
        verdict_line,
        f"every fit: 1 warm-up epoch + {args.epochs} timed (epoch s: their median; samples/s: training rows x timed "
        "epochs / their seconds, each epoch's validation pass included)",
        *(f"{check} data: {source}" for check, source in sources.items()),
        f"TensorFlow imported: {'YES (an error: the GPU machine has none)' if 'tensorflow' in sys.modules else 'no'}",
    ]
    return result_table, summary, met


def record(args, argv, device: str, result_table: str, summary: list[str]) -> None:
    """This run's section of RESULTS.md, one per device kind (and --quick)."""
    section = "-".join([SECTION, device.split(" ")[0], *(["quick"] if args.quick else [])])
    title = f"GPU checks: HIGGS throughput, MNIST CNN epoch, HAM10000 fusion epoch, on {device}"
    devices = device if device.startswith("gpu") else "no GPU used"
    bullets = [f"- {line}" for line in summary]
    title += " (--quick)" if args.quick else ""
    common.record_result(section, title, __file__, argv, "jax", result_table, bullets, devices)


def main(argv=None) -> int:
    args = parse_args(argv)
    common.use_project_sources()
    logging.getLogger("mlflow.utils.git_utils").setLevel(logging.ERROR)  # no Git there: 3 warnings a run
    with tempfile.TemporaryDirectory(prefix="gpu_checks_", dir=args.work_dir) as tmp:
        work = Path(tmp)
        os.environ[common.DATA_DIR_ENV] = str(work / "data")
        os.environ["TRANSFERLAB_CACHE_DIR"] = str(work / "cache")
        sources = generate_data(args, work / "data")
        from transferlab.runtime import select_backend

        select_backend("jax", "auto")
        device = higgs_train.device_name("jax")
        print(f"data ready; training on {device}", flush=True)
        results = run_checks(args, work / "store")
    result_table, summary, met = report(args, results, sources, device)
    common.print_report(result_table, summary)
    if args.record:
        record(args, argv, device, result_table, summary)
    if "tensorflow" in sys.modules or any("error" in r for r in results):
        return 1
    return 3 if args.strict and met is False else 0


if __name__ == "__main__":
    sys.exit(main())
