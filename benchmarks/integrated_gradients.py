"""Integrated gradients: seed 000's per-row GradientTape loop vs transferlab's batched IG.

What is compared (same model, same rows, same process, TensorFlow backend):

* baseline: seed 000's `integrated_gradients(model, baseline, inputs, m_steps=64)` from section
  7.2 of the notebook, reproduced as written (TensorFlow only): for every row, a
  `tf.GradientTape`, a `@tf.function` interpolation of 65 path points, a nested tape for the
  gradients, the trapezoid rule `mean(grads[:-1] + grads[1:]) / 2` and `(x - base) * avg`.
* ours: `transferlab.explainers.integrated_gradients.integrated_gradients(model, inputs, name, baseline,
  target, steps=64)`, which evaluates every row's path in a few large model calls.

Model: seed 000's fine-tuned architecture, `DenoisingAutoencoder().build_classifier(8, 2)`
(8 inputs -> encoder Dense 64-32-16 -> head Dense 16 -> sigmoid), seeded and trained briefly on
the Pima training split (`--train-epochs`, 0 = seeded random weights). Rows: the 154 Pima test
rows, preprocessed as the pipeline does (zeros -> NaN, median imputation, standard scaling fitted
on training rows), optionally tiled (`--tile 10` -> 1540 rows). Baseline point: zeros (seed 000).

Checks and output: both attributions must agree within `--tolerance` (default 1e-5, max abs
difference; the script exits 1 otherwise). Each path gets one warm-up call, then `--repeats`
timed calls, interleaved; the best time gives rows/s, and the speed-up is baseline best / ours
best. Target: ours >= 20x faster. Optionally (`--jax`, default when JAX is installed) our batched
IG is also timed on the JAX backend in a subprocess (KERAS_BACKEND=jax) on the same weights.

    .venv/bin/python benchmarks/integrated_gradients.py [--tile 10] [--repeats 5] [--record]
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

TARGET_SPEEDUP = 20.0
SECTION = "integrated_gradients"


def parse_args(argv=None):
    parser = common.argument_parser(__doc__, pima=True)
    parser.add_argument("--tile", type=int, default=1, help="repeat the 154 test rows this many times (default 1)")
    parser.add_argument("--steps", type=int, default=64, help="IG path steps, seed 000's m_steps (default 64)")
    parser.add_argument(
        "--repeats", type=int, default=5, help="timed calls per path after one warm-up; best is reported (default 5)"
    )
    parser.add_argument(
        "--train-epochs",
        type=int,
        default=20,
        help="epochs of brief training on the Pima train split; 0 = seeded random weights (default 20)",
    )
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument(
        "--tolerance",
        type=float,
        default=1e-5,
        help="max abs difference allowed between the two attributions (default 1e-5)",
    )
    jax_group = parser.add_mutually_exclusive_group()
    jax_group.add_argument(
        "--jax",
        dest="jax",
        action="store_true",
        default=None,
        help="also time our batched IG on the JAX backend (default: when jax is installed)",
    )
    jax_group.add_argument("--no-jax", dest="jax", action="store_false", help="skip the JAX measurement")
    parser.add_argument("--strict", action="store_true", help="also exit 3 when the speed-up target is missed")
    parser.add_argument(
        "--record", action="store_true", help="write/replace this benchmark's section of benchmarks/RESULTS.md"
    )
    parser.add_argument("--jax-worker", type=Path, default=None, help=argparse.SUPPRESS)  # internal: the JAX subprocess
    return parser.parse_args(argv)


# --------------------------------------------------------------------------------------------
# Seed 000, section 7.2, as written (TensorFlow only).
# --------------------------------------------------------------------------------------------
def seed000_integrated_gradients_fn():
    """Return seed 000's `integrated_gradients` (its `_interpolate` is a module-level tf.function there)."""
    import numpy as np
    import tensorflow as tf

    @tf.function
    def _interpolate(baseline, x, alphas):
        alphas_x = alphas[:, tf.newaxis]
        delta = x - baseline
        return baseline + alphas_x * delta

    def integrated_gradients(model, baseline, inputs, m_steps=64):
        alphas = tf.linspace(0.0, 1.0, m_steps + 1)
        ig_list = []
        for i in range(inputs.shape[0]):
            x = tf.convert_to_tensor(inputs[i : i + 1], dtype=tf.float32)
            base = tf.convert_to_tensor(baseline[None, :], dtype=tf.float32)
            with tf.GradientTape() as tape:
                tape.watch(x)
                interp = _interpolate(base, x, alphas)
                with tf.GradientTape() as tape2:
                    tape2.watch(interp)
                    preds = model(interp, training=False)
                    grads = tape2.gradient(preds, interp)
                avg_grads = tf.reduce_mean(grads[:-1] + grads[1:], axis=0) / 2.0
                ig = (x - base) * avg_grads
                ig_list.append(ig.numpy()[0])
        return np.array(ig_list)

    return integrated_gradients


# --------------------------------------------------------------------------------------------
def prepared_pima(csv: Path, seed: int):
    """The pipeline's own Pima preparation (dataset=pima defaults)."""
    from transferlab.data.pima import load_pima
    from transferlab.data.preprocessing import prepare
    from transferlab.data.splits import split_table

    table = load_pima(str(csv), None, None, ["Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"])
    return prepare(table, split_table(table, test_size=0.2, val_size=0.2, seed=seed, stratify=True))


def build_model(data, train_epochs: int, seed: int):
    import keras

    from transferlab.models.autoencoder import DenoisingAutoencoder

    keras.utils.set_random_seed(seed)
    model = DenoisingAutoencoder().build_classifier(data.specs, 2)
    if train_epochs > 0:
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
        model.fit(
            data.train.inputs,
            data.train.labels,
            validation_data=(data.val.inputs, data.val.labels),
            epochs=train_epochs,
            batch_size=32,
            verbose=0,
        )
    return model


def time_calls(fn, repeats: int) -> list[float]:
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        fn()
        times.append(time.perf_counter() - started)
    return times


def jax_worker(folder: Path, steps: int, repeats: int) -> None:
    """Runs in the subprocess with KERAS_BACKEND=jax: our batched IG on the saved weights."""
    import keras
    import numpy as np

    from transferlab.data.inputs import table_input
    from transferlab.explainers.integrated_gradients import integrated_gradients
    from transferlab.models.autoencoder import DenoisingAutoencoder

    assert keras.backend.backend() == "jax", keras.backend.backend()
    x = np.load(folder / "x.npy")
    columns = [f"f{i}" for i in range(x.shape[1])]
    model = DenoisingAutoencoder().build_classifier({"features": table_input("features", columns, columns)}, 2)
    model.load_weights(folder / "model.weights.h5")
    target, baseline = np.zeros(len(x), dtype=int), np.zeros(x.shape[1], dtype="float32")
    run = lambda: integrated_gradients(model, {"features": x}, "features", baseline, target, steps=steps)
    started = time.perf_counter()
    attributions = run()
    warmup = time.perf_counter() - started
    times = time_calls(run, repeats)
    np.save(folder / "ig_jax.npy", attributions)
    (folder / "jax.json").write_text(
        json.dumps({"warmup": warmup, "times": times, "jax": __import__("jax").__version__})
    )


def run_jax(model, x, steps: int, repeats: int, data_dir: Path):
    """Our IG on the JAX backend in a subprocess; returns (times, attributions, note)."""
    import numpy as np

    with tempfile.TemporaryDirectory(prefix="bench_ig_jax_") as tmp:
        folder = Path(tmp)
        np.save(folder / "x.npy", x)
        model.save_weights(folder / "model.weights.h5")
        env = dict(
            os.environ,
            KERAS_BACKEND="jax",
            JAX_PLATFORMS="cpu",
            TF_CPP_MIN_LOG_LEVEL="2",
            **{common.DATA_DIR_ENV: str(data_dir)},
        )
        command = [
            sys.executable,
            __file__,
            "--jax-worker",
            str(folder),
            "--steps",
            str(steps),
            "--repeats",
            str(repeats),
        ]
        done = subprocess.run(command, env=env, capture_output=True, text=True)
        if done.returncode != 0:
            return None, None, "JAX run failed: " + (done.stderr.strip().splitlines() or ["?"])[-1][:300]
        result = json.loads((folder / "jax.json").read_text())
        return result, np.load(folder / "ig_jax.npy"), f"jax {result['jax']}"


def main(argv=None) -> int:
    args = parse_args(argv)
    common.use_project_sources()
    if args.jax_worker is not None:
        jax_worker(args.jax_worker, args.steps, args.repeats)
        return 0

    os.environ["KERAS_BACKEND"] = "tensorflow"  # seed 000's loop is TensorFlow code
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    data_dir = args.data_dir or common.default_data_dir()
    csv = common.pima_csv(data_dir)
    import keras
    import numpy as np

    from transferlab.explainers.integrated_gradients import integrated_gradients

    assert keras.backend.backend() == "tensorflow", "KERAS_BACKEND was fixed before this script ran"
    data = prepared_pima(csv, args.seed)
    model = build_model(data, args.train_epochs, args.seed)
    x = np.tile(data.test.inputs["features"], (args.tile, 1)).astype("float32")
    n_rows = len(x)
    seed_ig = seed000_integrated_gradients_fn()
    seed_inputs, seed_baseline = (
        x.astype("float64"),
        np.zeros((x.shape[1],), dtype=float),
    )  # seed 000 passes float64 arrays
    target, baseline = np.zeros(n_rows, dtype=int), np.zeros(x.shape[1], dtype="float32")

    run_seed = lambda: seed_ig(model, seed_baseline, seed_inputs, m_steps=args.steps)
    run_ours = lambda: integrated_gradients(model, {"features": x}, "features", baseline, target, steps=args.steps)

    print(
        f"{n_rows} rows x {x.shape[1]} features, steps={args.steps}, model {model.name} "
        f"({model.count_params()} params, trained {args.train_epochs} epochs), backend tensorflow; "
        f"warm-up + {args.repeats} interleaved repeats each",
        flush=True,
    )
    started = time.perf_counter()
    ig_seed = run_seed()
    warm_seed = time.perf_counter() - started
    started = time.perf_counter()
    ig_ours = run_ours()
    warm_ours = time.perf_counter() - started
    max_diff = float(np.max(np.abs(ig_seed - ig_ours)))
    scale = float(np.max(np.abs(ig_seed)))
    # Completeness (sum of IG ~ f(x) - f(baseline)) shows both computed real attributions.
    f_x = keras.ops.convert_to_numpy(model(x, training=False))[:, 0]
    f_0 = float(keras.ops.convert_to_numpy(model(baseline[None], training=False))[0, 0])
    gap = float(np.max(np.abs(ig_ours.sum(axis=1) - (f_x - f_0))))

    seed_times, ours_times = [], []
    for _ in range(args.repeats):  # interleaved so background load hits both alike
        seed_times += time_calls(run_seed, 1)
        ours_times += time_calls(run_ours, 1)

    jax_result = jax_ig = None
    jax_note = "skipped (--no-jax)" if args.jax is False else ""
    want_jax = args.jax if args.jax is not None else importlib.util.find_spec("jax") is not None
    if want_jax:
        jax_result, jax_ig, jax_note = run_jax(model, x, args.steps, args.repeats, data_dir)
    elif args.jax is None:
        jax_note = "skipped (jax not installed)"

    best_seed, best_ours = min(seed_times), min(ours_times)
    speedup = best_seed / best_ours
    rows = [
        [
            "seed 000 per-row GradientTape loop",
            "tensorflow",
            f"{warm_seed:.3f}",
            f"{best_seed:.4f}",
            f"{common.median(seed_times):.4f}",
            f"{n_rows / best_seed:,.0f}",
            "1.0x",
        ],
        [
            "transferlab batched integrated_gradients",
            "tensorflow",
            f"{warm_ours:.3f}",
            f"{best_ours:.4f}",
            f"{common.median(ours_times):.4f}",
            f"{n_rows / best_ours:,.0f}",
            f"{speedup:.1f}x",
        ],
    ]
    jax_diff = None
    if jax_result is not None:
        best_jax = min(jax_result["times"])
        jax_diff = float(np.max(np.abs(jax_ig - ig_seed)))
        rows.append(
            [
                "transferlab batched integrated_gradients",
                "jax (subprocess)",
                f"{jax_result['warmup']:.3f}",
                f"{best_jax:.4f}",
                f"{common.median(jax_result['times']):.4f}",
                f"{n_rows / best_jax:,.0f}",
                f"{best_seed / best_jax:.1f}x",
            ]
        )
    result_table = common.table(
        ["path", "backend", "warm-up s", "best s", "median s", "rows/s (best)", "speed-up vs seed"], rows
    )
    agree = max_diff <= args.tolerance
    met = speedup >= TARGET_SPEEDUP
    summary = [
        f"max |IG_seed - IG_ours| = {max_diff:.3e} (tolerance {args.tolerance:g}; max |IG| = {scale:.3e}): "
        f"{'OK' if agree else 'FAILED'}",
        f"completeness gap max |sum(IG_ours) - (f(x) - f(0))| = {gap:.3e} (steps={args.steps})",
    ]
    if jax_diff is not None:
        summary.append(f"max |IG_seed(TF) - IG_ours(JAX)| = {jax_diff:.3e}")
    elif jax_note:
        summary.append(f"JAX: {jax_note}")
    summary.append(
        f"speed-up seed loop / ours (TensorFlow, best of {args.repeats}) = {speedup:.1f}x "
        f"(target >= {TARGET_SPEEDUP:g}x): {'MET' if met else 'MISSED'}"
    )
    common.print_report(result_table, summary)

    if args.record:
        body = "\n".join(
            [
                "Command: " + common.command_line(__file__, argv),
                "",
                "Seed 000's per-row `tf.GradientTape` IG loop vs "
                "`transferlab.explainers.integrated_gradients.integrated_gradients`, same model "
                f"(`DenoisingAutoencoder().build_classifier(8, 2)`, trained {args.train_epochs} epochs) and rows "
                f"({n_rows} preprocessed Pima test rows{f', 154 tiled x{args.tile}' if args.tile > 1 else ''}), "
                f"steps={args.steps}, one warm-up then best of {args.repeats} interleaved repeats. The JAX row runs "
                "in a subprocess right after (same weights and rows); its speed-up is against the TensorFlow seed "
                "loop timed here.",
                "",
                *common.machine_lines("tensorflow" + (" (+ jax subprocess)" if jax_result is not None else "")),
                "",
                result_table,
                "",
                *[f"- {line}" for line in summary],
            ]
        )
        suffix = f" ({n_rows} rows, tile x{args.tile})" if args.tile > 1 else f" ({n_rows} rows)"
        common.record_section(
            SECTION + (f"-tile{args.tile}" if args.tile > 1 else ""),
            "Integrated gradients: seed 000 loop vs batched" + suffix,
            body,
        )
    if not agree:
        print("error: attributions disagree", file=sys.stderr)
        return 1
    if args.strict and not met:
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
