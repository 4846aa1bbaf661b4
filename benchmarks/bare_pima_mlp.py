"""Seed 000's Pima MLP as a bare script: the baseline of benchmarks/framework_overhead.py.

The same training the pipeline's `dataset=pima model=mlp strategy=scratch` job does, written
the way seed 000 (sections 3 and 5) does it, with no Hydra, no MLflow, no figures, no model files:

* pandas reads diabetes.csv; 0 -> NaN in Glucose, BloodPressure, SkinThickness, Insulin, BMI;
* stratified 20% test split (random_state=42), validation = 20% of the training rows
  (stratified, random_state=42, as the pipeline does; seed 000 used validation_split=0.2, which
  gives the same sizes);
* median imputation + StandardScaler fitted on the training rows;
* Keras MLP Dense 32 relu -> Dropout 0.2 -> Dense 16 relu -> Dense 1 sigmoid, Adam 1e-3,
  binary cross-entropy, batch 32, `--epochs` (200), EarlyStopping(val_loss, patience 20,
  restore_best_weights), balanced class weights, seed 42;
* predict the test rows and compute F1, F2, F5 at threshold 0.5.

With `--mlflow-uri URI` it also does the least MLflow logging such a job needs (the MLflow floor of
framework_overhead.py): import MLflow, open the store, one run with the parameters, the per-epoch
losses in one batch, the F-scores and one Keras-flavor model (with MLflow's pinned default requirements,
so no requirement inference, as in the pipeline).

The last line printed is `BENCH {json}` with train_seconds (model.fit), epochs_trained,
steady_seconds (first to last epoch end, from a callback that only appends a timestamp) and the
F-scores, which framework_overhead.py reads.

    .venv/bin/python benchmarks/bare_pima_mlp.py [--epochs 200] [--backend tensorflow|jax] [--mlflow-uri URI]
"""

import json
import os
import sys
import time
from pathlib import Path

STARTED = time.perf_counter()
sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

ZERO_AS_MISSING = ["Glucose", "BloodPressure", "SkinThickness", "Insulin", "BMI"]


def parse_args(argv=None):
    parser = common.argument_parser(__doc__, pima=True)
    parser.add_argument("--epochs", type=int, default=200, help="maximum epochs (default 200)")
    parser.add_argument(
        "--backend", choices=["tensorflow", "jax"], default="tensorflow", help="Keras backend (default tensorflow)"
    )
    parser.add_argument("--no-early-stopping", action="store_true", help="train all --epochs epochs")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--mlflow-uri", help="also log the run, its metrics and the model to this MLflow store")
    return parser.parse_args(argv)


def log_to_mlflow(uri: str, model, params: dict, history: dict, scores: dict) -> None:
    """One MLflow run with the parameters, per-epoch losses, test F-scores and the Keras model."""
    import mlflow
    from mlflow.entities import Metric

    mlflow.set_tracking_uri(uri)
    with mlflow.start_run(experiment_id=mlflow.set_experiment("bare_pima_mlp").experiment_id) as run:
        mlflow.log_params(params)
        now = int(time.time() * 1000)
        epochs = [Metric(k, float(v), now, step) for k, values in history.items() for step, v in enumerate(values)]
        mlflow.MlflowClient().log_batch(run.info.run_id, metrics=epochs)
        mlflow.log_metrics(scores)
        # MLflow's own pinned default (keras==...): given requirements skip MLflow's inference
        mlflow.keras.log_model(model, name="keras_model", pip_requirements=mlflow.keras.get_default_pip_requirements())


def main(argv=None) -> None:
    args = parse_args(argv)
    csv = common.pima_csv(args.data_dir or common.default_data_dir())
    os.environ["KERAS_BACKEND"] = args.backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    import keras
    import numpy as np
    import pandas as pd
    from sklearn.impute import SimpleImputer
    from sklearn.metrics import fbeta_score
    from sklearn.model_selection import train_test_split
    from sklearn.preprocessing import StandardScaler
    from sklearn.utils.class_weight import compute_class_weight

    keras.utils.set_random_seed(args.seed)
    df = pd.read_csv(csv)
    for c in ZERO_AS_MISSING:
        df[c] = df[c].replace(0, np.nan)
    x_df, y = df.drop(columns=["Outcome"]), df["Outcome"].astype(int).values
    x_rest, x_test, y_rest, y_test = train_test_split(x_df, y, test_size=0.2, random_state=42, stratify=y)
    x_train, x_val, y_train, y_val = train_test_split(x_rest, y_rest, test_size=0.2, random_state=42, stratify=y_rest)
    imp, scaler = SimpleImputer(strategy="median"), StandardScaler()
    x_train = scaler.fit_transform(imp.fit_transform(x_train)).astype("float32")
    x_val, x_test = (scaler.transform(imp.transform(part)).astype("float32") for part in (x_val, x_test))
    classes = np.unique(y_train)
    class_weight = {
        int(c): float(w) for c, w in zip(classes, compute_class_weight("balanced", classes=classes, y=y_train))
    }

    model = keras.Sequential(
        [
            keras.layers.Input(shape=(x_train.shape[1],)),
            keras.layers.Dense(32, activation="relu"),
            keras.layers.Dropout(0.2),
            keras.layers.Dense(16, activation="relu"),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy")
    callbacks = (
        []
        if args.no_early_stopping
        else [keras.callbacks.EarlyStopping(patience=20, restore_best_weights=True, monitor="val_loss")]
    )
    epoch_ends = []  # only for the benchmark's per-epoch figures (a list append per epoch)
    callbacks.append(
        keras.callbacks.LambdaCallback(on_epoch_end=lambda epoch, logs: epoch_ends.append(time.perf_counter()))
    )
    fit_started = time.perf_counter()
    history = model.fit(
        x_train,
        y_train,
        validation_data=(x_val, y_val),
        epochs=args.epochs,
        batch_size=32,
        class_weight=class_weight,
        callbacks=callbacks,
        verbose=0,
    )
    train_seconds = time.perf_counter() - fit_started
    y_score = model.predict(x_test, verbose=0).ravel()
    y_pred = (y_score >= 0.5).astype(int)
    scores = {f"test_f{b}": float(fbeta_score(y_test, y_pred, beta=b, zero_division=0)) for b in (1, 2, 5)}
    print(f"bare MLP: {len(history.history['loss'])} epochs, " + ", ".join(f"{k}={v:.4f}" for k, v in scores.items()))
    if args.mlflow_uri:
        params = {"epochs": args.epochs, "batch_size": 32, "learning_rate": 1e-3, "seed": args.seed}
        log_to_mlflow(args.mlflow_uri, model, params, history.history, scores)
    print(
        "BENCH "
        + json.dumps(
            {
                "train_seconds": train_seconds,
                "epochs_trained": len(history.history["loss"]),
                "steady_seconds": epoch_ends[-1] - epoch_ends[0],
                "script_seconds": time.perf_counter() - STARTED,
                "backend": keras.backend.backend(),
                **scores,
            }
        )
    )


if __name__ == "__main__":
    main()
