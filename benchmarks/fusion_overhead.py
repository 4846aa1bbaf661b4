"""Early-fusion training throughput: run.py's training path vs a bare Keras two-input model.

What is compared (same network, same HAM10000 arrays, batch size, optimiser, loss and class
weights; samples/s of training rows):

* ours: what `python run.py dataset=ham10000 model=fusion model@model.branches.image=cnn_small
  strategy=early_fusion strategy.branches=joint` runs for its "fusion" stage: the Fusion builder's
  classifier (MLP 100-64-32 on `metadata`, cnn_small on `image`, Dense 128 -> 64 head), as the
  study's fusion arms build it, trained by
  `transferlab.training.fit_stage` inside an MLflow run on a temporary SQLite store, with the
  composed stage settings (batch 32, Adam 1e-4, balanced class weights) and early stopping off.
  Per-epoch MLflow metrics, the progress callback and the validation pass are inside its time.
* bare: `keras.models.clone_model` of that classifier (the same layers, freshly initialised),
  compiled with the same optimiser, loss and metric and trained with a plain `model.fit` on the
  same dict of arrays, validation data and class weights, no callbacks but an epoch-end timestamp.

Each of `--repeats` (3) rounds trains both, alternating which goes first, for 1 warm-up epoch
(tracing/compilation) plus `--epochs` (3) timed epochs; time per timed epoch is the spread of
epoch-end timestamps (ours: the timestamps of its per-epoch MLflow metrics). Target: ours / bare
<= 1.15x in time per epoch (medians). The backend is `--backend` (default: $KERAS_BACKEND or tensorflow).

    TRANSFERLAB_DATA_DIR=../shared/data .venv/bin/python benchmarks/fusion_overhead.py [--epochs 3]
        [--repeats 3] [--backend jax] [--record]
"""

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

SECTION = "fusion_overhead"
TARGET = 1.15


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument("--epochs", type=int, default=3, help="timed epochs after one warm-up epoch (default 3)")
    parser.add_argument("--repeats", type=int, default=3, help="rounds of both paths, alternating order (default 3)")
    parser.add_argument("--backend", choices=["tensorflow", "jax"], default=os.environ.get("KERAS_BACKEND"))
    parser.add_argument(
        "--record", action="store_true", help="write/replace this benchmark's section of benchmarks/RESULTS.md"
    )
    return parser.parse_args(argv)


def composed(backend: str, epochs: int):
    """The early-fusion job's config (joint branches, early stopping off) and its fusion stage settings."""
    from transferlab.config_checks import stage_settings

    cfg = common.composed_config(
        [
            "dataset=ham10000",
            "model=fusion",
            "model@model.branches.image=cnn_small",
            "strategy=early_fusion",
            "strategy.branches=joint",
            "explainer=none",
            f"trainer.backend={backend}",
            f"trainer.epochs={epochs}",
            "strategy.stages.fusion.epochs=${trainer.epochs}",
            "trainer.callbacks.early_stopping=null",
            "strategy.stages.fusion.callbacks.early_stopping=null",  # the strategy's own patience setting too
        ]
    )
    return cfg, stage_settings(cfg, "fusion")


def ours(classifier, data, settings, store: Path) -> list[float]:
    """fit_stage in an MLflow run; the epoch-end timestamps of its per-epoch metrics."""
    import mlflow

    from transferlab.strategies.common import stage_data
    from transferlab.tracking.store import use_experiment
    from transferlab.training import fit_stage

    experiment_id = use_experiment(f"sqlite:///{store / 'mlflow.db'}", SECTION, str(store / "mlruns"))
    with mlflow.start_run(experiment_id=experiment_id) as parent:
        fit_stage(classifier, "fusion", stage_data(data.train, data.val), settings, "sparse_categorical_crossentropy")
    client = mlflow.MlflowClient()
    child = client.search_runs([experiment_id], filter_string=f"tags.mlflow.parentRunId = '{parent.info.run_id}'")[0]
    return sorted(m.timestamp / 1000.0 for m in client.get_metric_history(child.info.run_id, "val_loss"))


def bare(classifier, data, settings) -> list[float]:
    """The same layers, cloned, trained with a plain fit; epoch-end timestamps."""
    import keras

    from transferlab.training import balanced_class_weight

    model = keras.models.clone_model(classifier)
    model.compile(
        optimizer=keras.optimizers.get(
            {"class_name": settings.optimizer, "config": {"learning_rate": settings.learning_rate}}
        ),
        loss="sparse_categorical_crossentropy",
        metrics=["accuracy"],
    )
    ends: list[float] = []
    stamp = keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: ends.append(time.time()))
    model.fit(
        data.train.inputs,
        data.train.labels,
        batch_size=settings.batch_size,
        epochs=settings.epochs,
        validation_data=(data.val.inputs, data.val.labels),
        class_weight=balanced_class_weight(data.train.labels),
        callbacks=[stamp],
        verbose=0,
    )
    return ends


def per_epoch(ends: list[float]) -> float:
    """Seconds per epoch after the first (which holds tracing and compilation)."""
    return (ends[-1] - ends[0]) / (len(ends) - 1)


def main(argv=None) -> int:
    args = parse_args(argv)
    backend = args.backend or "tensorflow"
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault(common.DATA_DIR_ENV, str(common.default_data_dir()))
    common.use_project_sources()
    from hydra.utils import instantiate

    from transferlab.data.loading import load_prepared
    from transferlab.runtime import configure_keras, seed_everything

    cfg, settings = composed(backend, 1 + args.epochs)
    configure_keras(settings.device, settings.precision)
    data = load_prepared(cfg.dataset)
    builder = instantiate(cfg.model)
    times = {"ours": [], "bare": []}
    with tempfile.TemporaryDirectory() as tmp:
        for repeat in range(args.repeats):
            order = ("ours", "bare") if repeat % 2 == 0 else ("bare", "ours")
            for path in order:
                seed_everything(repeat)
                classifier = builder.build_classifier(data.specs, data.n_classes)
                ends = (
                    ours(classifier, data, settings, Path(tmp)) if path == "ours" else bare(classifier, data, settings)
                )
                times[path].append(per_epoch(ends))
                print(f"round {repeat + 1} {path}: {per_epoch(ends):.2f} s/epoch", flush=True)
    n_train = data.train.n_rows
    medians = {path: common.median(values) for path, values in times.items()}
    ratio = medians["ours"] / medians["bare"]
    result = common.table(
        ["path", "s/epoch (median)", "samples/s", "every round s/epoch"],
        [
            [path, f"{medians[path]:.2f}", f"{n_train / medians[path]:,.0f}", ", ".join(f"{t:.2f}" for t in values)]
            for path, values in times.items()
        ],
    )
    verdict = "MET" if ratio <= TARGET else "MISSED"
    summary = [
        f"- ratio ours/bare, time per epoch (median) = {ratio:.2f}x (target <= {TARGET}x): {verdict}",
        f"- {n_train:,} training rows, {data.val.n_rows:,} validation rows; inputs {data.describe_inputs()}",
        f"- {args.repeats} rounds, 1 warm-up + {args.epochs} timed epochs each, batch {settings.batch_size}",
    ]
    common.print_report(result, summary)
    if args.record:
        title = f"Early-fusion training: fit_stage vs bare Keras ({backend})"
        common.record_result(f"{SECTION}-{backend}", title, __file__, argv, backend, result, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
