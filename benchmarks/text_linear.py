"""SMS spam: our text_linear (TF-IDF -> Keras logistic output) vs seed 003's scikit-learn pipeline.

Both on the same split of `dataset=sms_spam` (stratified 20% test, validation 20% of the rest;
the scikit-learn pipeline fits on the training messages, ours also uses the validation messages
for early stopping), in one run:

* sklearn: `make_pipeline(TfidfVectorizer(), LogisticRegression())`, seed 003's model, defaults.
* ours: the vocabulary pipeline of `dataset.text` fitted on the training messages, then
  `transferlab.training.fit_stage` on `model=text_linear` with the trainer settings the
  interpretability study uses (`--overrides`), inside an MLflow run on a temporary SQLite store.

Reported per model: fit seconds (vectoriser + training), predict rows/s (raw test strings ->
probabilities), test accuracy and F1 of spam at probability 0.5, and seconds per LIME explanation
of a test message (`lime.lime_text.LimeTextExplainer`, `--lime-samples` perturbed messages, the
same messages for both). Target: our accuracy and F1 at least the pipeline's; the time ratio is
reported as it is. Each backend runs in its own process (the backend is chosen before Keras loads).

    TRANSFERLAB_DATA_DIR=../shared/data .venv/bin/python benchmarks/text_linear.py
        [--backends tensorflow jax] [--messages 5] [--lime-samples 1000] [--record]
"""

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _common as common  # noqa: E402

SECTION = "text_linear"
STUDY_TRAINER = [
    "trainer.learning_rate=0.05",
    "trainer.batch_size=256",
    "trainer.epochs=100",
    "trainer.callbacks.early_stopping.patience=5",
]


def parse_args(argv=None):
    parser = common.argument_parser(__doc__)
    parser.add_argument("--backends", nargs="+", choices=["tensorflow", "jax"], default=["tensorflow", "jax"])
    parser.add_argument("--messages", type=int, default=5, help="test messages explained by LIME per model")
    parser.add_argument("--lime-samples", type=int, default=1000, help="LIME's num_samples per explanation")
    parser.add_argument("--overrides", nargs="*", default=STUDY_TRAINER, help="trainer overrides of our run")
    parser.add_argument("--one-backend", help=argparse.SUPPRESS, default=None)  # the per-backend child process
    parser.add_argument("--record", action="store_true", help="write/replace this section of benchmarks/RESULTS.md")
    return parser.parse_args(argv)


def scores(labels, probabilities) -> dict[str, float]:
    from sklearn.metrics import accuracy_score, f1_score

    predicted = probabilities >= 0.5
    return {"accuracy": accuracy_score(labels, predicted), "f1": f1_score(labels, predicted)}


def timed_predictions(predict, messages) -> tuple:
    """Spam probabilities of `messages` and the rows per second it took (after one warm-up call)."""
    predict(messages[:8])
    start = time.perf_counter()
    probabilities = predict(messages)
    return probabilities, len(messages) / (time.perf_counter() - start)


def lime_seconds(predict_both_classes, messages, samples: int) -> float:
    """Mean seconds of one LIME text explanation (10 tokens) of each message."""
    from lime.lime_text import LimeTextExplainer

    explainer = LimeTextExplainer(class_names=["ham", "spam"], random_state=0)
    start = time.perf_counter()
    for message in messages:
        explainer.explain_instance(message, predict_both_classes, num_features=10, num_samples=samples)
    return (time.perf_counter() - start) / len(messages)


def sklearn_model(data, messages: int, samples: int) -> dict:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    start = time.perf_counter()
    pipeline = make_pipeline(TfidfVectorizer(), LogisticRegression()).fit(data.train.texts["text"], data.train.labels)
    fit = time.perf_counter() - start
    probabilities, rows = timed_predictions(lambda m: pipeline.predict_proba(m)[:, 1], data.test.texts["text"])
    lime = lime_seconds(pipeline.predict_proba, list(data.test.texts["text"][:messages]), samples)
    return {"fit_s": fit, "predict_rows_s": rows, "lime_s": lime} | scores(data.test.labels, probabilities)


def our_model(cfg, data, messages: int, samples: int) -> dict:
    import mlflow
    import numpy as np
    from hydra.utils import instantiate

    from transferlab.config_checks import stage_settings
    from transferlab.data.prepared import PreparedData
    from transferlab.data.text_features import encode_texts, fit_text_pipeline, text_settings
    from transferlab.evaluation.metrics import class_probabilities
    from transferlab.strategies.common import stage_data
    from transferlab.tracking.store import use_experiment
    from transferlab.training import fit_stage

    def spam_probabilities(texts) -> np.ndarray:
        return class_probabilities(classifier, {"text": encode_texts(vocabulary, list(texts))})

    with tempfile.TemporaryDirectory() as tmp:
        experiment = use_experiment(f"sqlite:///{tmp}/mlflow.db", SECTION, f"{tmp}/mlruns")
        start = time.perf_counter()
        vocabulary = fit_text_pipeline(text_settings(cfg.dataset.text), data.train.texts["text"], "text")
        encoded: PreparedData = data.with_text_pipeline("text", vocabulary)
        classifier = instantiate(cfg.model).build_classifier(encoded.specs, encoded.n_classes)
        with mlflow.start_run(experiment_id=experiment):
            stage = fit_stage(
                classifier,
                "train",
                stage_data(encoded.train, encoded.val),
                stage_settings(cfg, "train"),
                "binary_crossentropy",
            )
        fit = time.perf_counter() - start
    probabilities, rows = timed_predictions(lambda m: spam_probabilities(m)[:, 1], data.test.texts["text"])
    lime = lime_seconds(spam_probabilities, list(data.test.texts["text"][:messages]), samples)
    return {"fit_s": fit, "predict_rows_s": rows, "lime_s": lime, "epochs": int(stage["epochs_trained"])} | scores(
        data.test.labels, probabilities
    )


def one_backend(args) -> dict:
    """Both models on one backend, in this process; the figures as a dict."""
    os.environ["KERAS_BACKEND"] = args.one_backend
    os.environ.setdefault(common.DATA_DIR_ENV, str(common.default_data_dir()))
    common.use_project_sources()
    from transferlab.data.loading import load_prepared
    from transferlab.runtime import configure_keras, seed_everything

    cfg = common.composed_config(
        [
            "dataset=sms_spam",
            "model=text_linear",
            "explainer=none",
            f"trainer.backend={args.one_backend}",
            *args.overrides,
        ]
    )
    configure_keras(cfg.trainer.device, cfg.trainer.precision)
    seed_everything(cfg.trainer.seed)
    data = load_prepared(cfg.dataset)
    return {
        "sklearn": sklearn_model(data, args.messages, args.lime_samples),
        "ours": our_model(cfg, data, args.messages, args.lime_samples),
        "rows": data.sizes(),
    }


def main(argv=None) -> int:
    args = parse_args(argv)
    if args.one_backend:
        print(json.dumps(one_backend(args)))
        return 0
    results = {}
    for backend in args.backends:
        command = [sys.executable, __file__, "--one-backend", backend, "--messages", str(args.messages)]
        command += ["--lime-samples", str(args.lime_samples), "--overrides", *args.overrides]
        done = subprocess.run(command, capture_output=True, text=True, check=False)
        if done.returncode != 0:
            sys.exit(f"{backend} failed:\n{done.stderr[-3000:]}")
        results[backend] = json.loads(done.stdout.strip().splitlines()[-1])
        print(f"{backend}: done", flush=True)
    rows = []
    summary = []
    for backend, result in results.items():
        for name in ("sklearn", "ours"):
            r = result[name]
            rows.append(
                [
                    backend,
                    "scikit-learn pipeline (seed 003)" if name == "sklearn" else f"text_linear ({r['epochs']} epochs)",
                    f"{r['fit_s']:.2f}",
                    f"{r['predict_rows_s']:,.0f}",
                    f"{r['accuracy']:.4f}",
                    f"{r['f1']:.4f}",
                    f"{r['lime_s']:.2f}",
                ]
            )
        ours, base = result["ours"], result["sklearn"]
        met = ours["accuracy"] >= base["accuracy"] and ours["f1"] >= base["f1"]
        summary.append(
            f"- {backend}: accuracy {ours['accuracy']:.4f} vs {base['accuracy']:.4f}, F1 {ours['f1']:.4f} vs "
            f"{base['f1']:.4f} (target: at least the pipeline's): {'MET' if met else 'MISSED'}; fit time ours/sklearn "
            f"{ours['fit_s'] / base['fit_s']:.1f}x, predict throughput sklearn/ours "
            f"{base['predict_rows_s'] / ours['predict_rows_s']:.1f}x, LIME seconds per message ours/sklearn "
            f"{ours['lime_s'] / base['lime_s']:.1f}x"
        )
    sizes = next(iter(results.values()))["rows"]
    summary.append(
        f"- split: {sizes['n_train']:,} training, {sizes['n_val']:,} validation, {sizes['n_test']:,} test messages; "
        f"our trainer overrides: {' '.join(args.overrides)}; "
        f"LIME: {args.messages} messages x {args.lime_samples} samples"
    )
    result_table = common.table(
        ["backend", "model", "fit s", "predict rows/s", "test accuracy", "test F1 (spam)", "LIME s/message"], rows
    )
    common.print_report(result_table, summary)
    if args.record:
        title = "SMS spam: text_linear vs seed 003's scikit-learn pipeline"
        common.record_result(SECTION, title, __file__, argv, " and ".join(results), result_table, summary)
    return 0


if __name__ == "__main__":
    sys.exit(main())
