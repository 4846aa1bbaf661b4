"""Classification metrics with stable MLflow names (test_accuracy, test_roc_auc, ...)."""

import re

import keras
import numpy as np
from sklearn import metrics as skm
from sklearn.dummy import DummyClassifier
from sklearn.preprocessing import label_binarize

from transferlab.data.inputs import count_rows, take_rows
from transferlab.models.layers import model_input
from transferlab.tracking.raw_row_model import probabilities_from_outputs


def predict_array(model, inputs: dict, batch_size: int | None = None) -> np.ndarray:
    """Model outputs for named inputs (input name -> rows), in inference mode, as float64.

    Up to one batch: a direct call, because model.predict's per-call set-up dominates the hundreds
    of small calls permutation importance makes. Larger inputs: Keras' compiled predict step
    (`predict_on_batch`) batch by batch, because eager calls hold every layer's activations and, on
    JAX, op-by-op dispatch state, and because `model.predict` on TensorFlow copies the whole input
    into its tf.data pipeline and keeps that copy
    (measurements: benchmarks/README.md, 'Why the code is shaped this way').
    Default batch: 8192 rows when every input is a table, else 128 (a convolutional network's
    activations are per image, not per feature).
    """
    rows = count_rows(inputs)
    batch_size = batch_size or (8192 if all(np.ndim(array) == 2 for array in inputs.values()) else 128)
    if rows <= batch_size:
        return keras.ops.convert_to_numpy(model(model_input(model, inputs), training=False)).astype("float64")
    return np.concatenate(
        [
            np.asarray(
                model.predict_on_batch(model_input(model, take_rows(inputs, slice(start, start + batch_size)))),
                dtype="float64",
            )
            for start in range(0, rows, batch_size)
        ]
    )


def class_probabilities(model, inputs: dict) -> np.ndarray:
    """(n, K) probabilities; a single sigmoid output becomes [1 - p, p] (the logged pyfunc's own
    conversion, so both agree)."""
    return probabilities_from_outputs(predict_array(model, inputs))


def metric_suffix(class_name: str) -> str:
    """A class name as part of an MLflow metric name: runs of other characters become `_`."""
    return re.sub(r"[^0-9A-Za-z_.-]+", "_", str(class_name))


def roc_auc(y_true, probabilities: np.ndarray) -> float:
    """ROC-AUC of the positive class (binary); macro one-vs-rest over every class (K > 2).
    Needs every class among `y_true`."""
    if probabilities.shape[1] == 2:
        return skm.roc_auc_score(y_true, probabilities[:, 1])
    return skm.roc_auc_score(y_true, probabilities, multi_class="ovr", labels=np.arange(probabilities.shape[1]))


def pr_auc(y_true, probabilities: np.ndarray) -> float:
    """Average precision of the positive class (binary); macro over every class (K > 2)."""
    if probabilities.shape[1] == 2:
        return skm.average_precision_score(y_true, probabilities[:, 1])
    one_hot = label_binarize(y_true, classes=np.arange(probabilities.shape[1]))
    return skm.average_precision_score(one_hot, probabilities, average="macro")


# The metrics of (y_true, probabilities) that permutation importance scores with
# (explainers.settings.SCORINGS) and deletion curves measure; classification_metrics computes the
# same values under the same names (tested).
SCORES = {
    "roc_auc": roc_auc,
    "pr_auc": pr_auc,
    "accuracy": lambda y_true, p: skm.accuracy_score(y_true, p.argmax(axis=1)),
    "balanced_accuracy": lambda y_true, p: skm.balanced_accuracy_score(y_true, p.argmax(axis=1)),
    "macro_f1": lambda y_true, p: skm.f1_score(y_true, p.argmax(axis=1), average="macro", zero_division=0),
    "log_loss": lambda y_true, p: skm.log_loss(y_true, p, labels=np.arange(p.shape[1])),
}


def classification_metrics(y_true, probabilities: np.ndarray, prefix: str, class_names=None) -> dict[str, float]:
    """Accuracy, precision/recall/F1 (positive class, or macro for K > 2), macro-F1, balanced accuracy,
    specificity and sensitivity (binary), ROC-AUC (one-vs-rest for K > 2, then also per class as
    roc_auc_<class name> when `class_names` are given), PR-AUC (average precision) and log loss."""
    n_classes = probabilities.shape[1]
    predicted = probabilities.argmax(axis=1)
    average = "binary" if n_classes == 2 else "macro"
    values = {
        "accuracy": SCORES["accuracy"](y_true, probabilities),
        "precision": skm.precision_score(y_true, predicted, average=average, zero_division=0),
        "recall": skm.recall_score(y_true, predicted, average=average, zero_division=0),
        "f1": skm.f1_score(y_true, predicted, average=average, zero_division=0),
        "macro_f1": SCORES["macro_f1"](y_true, probabilities),
        "balanced_accuracy": SCORES["balanced_accuracy"](y_true, probabilities),
        "log_loss": SCORES["log_loss"](y_true, probabilities),
    }
    if n_classes == 2:  # per-class accuracy, as seed 001 reports it
        values["specificity"] = skm.recall_score(y_true, predicted, pos_label=0, zero_division=0)
        values["sensitivity"] = skm.recall_score(y_true, predicted, pos_label=1, zero_division=0)
    if len(np.unique(y_true)) == n_classes:  # AUCs need every class present
        values["roc_auc"] = roc_auc(y_true, probabilities)
        values["pr_auc"] = pr_auc(y_true, probabilities)
        if n_classes > 2:
            one_hot = label_binarize(y_true, classes=np.arange(n_classes))
            per_class = skm.roc_auc_score(one_hot, probabilities, average=None)
            values |= {f"roc_auc_{metric_suffix(c)}": auc for c, auc in zip(class_names or (), per_class)}
    return {f"{prefix}_{name}": float(value) for name, value in values.items()}


def zeror_metrics(train_labels, test_labels) -> dict[str, float]:
    """The ZeroR baseline (always the majority class of the training labels) on the test labels:
    zeror_test_macro_f1, zeror_test_accuracy, zeror_test_balanced_accuracy."""
    majority = DummyClassifier(strategy="most_frequent").fit(np.zeros((len(train_labels), 1)), train_labels)
    predicted = majority.predict(np.zeros((len(test_labels), 1)))
    return {
        "zeror_test_macro_f1": float(skm.f1_score(test_labels, predicted, average="macro", zero_division=0)),
        "zeror_test_accuracy": float(skm.accuracy_score(test_labels, predicted)),
        "zeror_test_balanced_accuracy": float(skm.balanced_accuracy_score(test_labels, predicted)),
    }


def probability_scorer(name: str):
    """A metric of (y_true, probabilities) for permutation importance and deletion curves, higher is
    better (log_loss negated): only that metric, which a scorer computes hundreds of times."""
    metric = SCORES[name]
    if name == "log_loss":
        return lambda y_true, probabilities: -float(metric(y_true, probabilities))
    return lambda y_true, probabilities: float(metric(y_true, probabilities))
