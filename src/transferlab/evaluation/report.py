"""Everything a run reports about its trained model on validation and test data."""

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import classification_report

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.evaluation import plots
from transferlab.evaluation.metrics import class_probabilities, classification_metrics, metric_suffix, zeror_metrics
from transferlab.evaluation.settings import SubgroupSettings
from transferlab.evaluation.subgroups import subgroup_report
from transferlab.evaluation.thresholds import threshold_table


def beta_name(beta: float) -> str:
    """1 -> 'f1', 0.5 -> 'f0.5'."""
    return f"f{beta:g}"


@dataclass
class Evaluation:
    metrics: dict[str, float]
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    figures: dict[str, object] = field(default_factory=dict)


def evaluate(
    model, data: PreparedData, betas, thresholds: np.ndarray, subgroups: SubgroupSettings = SubgroupSettings()
) -> Evaluation:
    """Metrics at argmax/0.5 for validation and test, and the ZeroR baseline's; for binary tasks,
    F-beta at the threshold picked on validation (test_f2, threshold_f2) and at the test-optimal one
    (oracle_test_f2). Figures: confusion matrices, ROC/PR curves and, for images, a grid of example
    predictions. With test attributes: per-subgroup tables, gaps and a chart (evaluation.subgroups)."""
    val, test, names = data.val, data.test, data.class_names
    p_val, p_test = class_probabilities(model, val.inputs), class_probabilities(model, test.inputs)
    metrics = (
        classification_metrics(val.labels, p_val, "val", names)
        | classification_metrics(test.labels, p_test, "test", names)
        | zeror_metrics(data.train.labels, test.labels)
    )
    report = classification_report(
        test.labels, p_test.argmax(axis=1), labels=np.arange(len(names)), target_names=names, zero_division=0
    )
    evaluation = Evaluation(metrics, texts={"classification_report.txt": report})
    chosen: dict[str, float] = {}
    if len(names) == 2:
        table = threshold_table(val.labels, p_val[:, 1], test.labels, p_test[:, 1], betas, thresholds)
        for row in table.itertuples():
            name = beta_name(row.beta)
            metrics |= {
                f"threshold_{name}": row.threshold,
                f"val_{name}": row.val_fbeta,
                f"test_{name}": row.test_fbeta,
                f"oracle_threshold_{name}": row.oracle_threshold,
                f"oracle_test_{name}": row.oracle_test_fbeta,
            }
            chosen[name.upper()] = row.threshold
        evaluation.tables["threshold_table.csv"] = table
    evaluation.figures["confusion_matrix.png"] = plots.confusion_matrices(test.labels, p_test, names, chosen)
    evaluation.figures["roc_pr_curves.png"] = plots.roc_and_pr_curves(test.labels, p_test, names)
    images = data.inputs_of_kind(InputKind.IMAGE)
    if len(images) == 1:
        evaluation.figures["example_predictions.png"] = plots.example_predictions(
            test.inputs[images[0].name], test.labels, p_test, names
        )
    if data.test_attributes is not None:
        report = subgroup_report(test.labels, p_test.argmax(axis=1), data.test_attributes, subgroups)
        metrics |= report.metrics
        evaluation.tables |= {f"subgroups/{column}.csv": table for column, table in report.tables.items()}
        evaluation.figures["subgroups/macro_f1.png"] = report.figure
    return evaluation


def metric_names(class_names: list[str], betas) -> list[str]:
    """Every val_/test_/threshold metric `evaluate` logs for a task of these classes: what
    objective.metric may name (zeror_ and subgroup_ metrics are not objectives)."""
    n_classes = len(class_names)
    base = ["accuracy", "precision", "recall", "f1", "macro_f1", "balanced_accuracy", "log_loss", "roc_auc", "pr_auc"]
    if n_classes > 2:
        base += [f"roc_auc_{metric_suffix(name)}" for name in class_names]
    names = [f"{split}_{m}" for split in ("val", "test") for m in base]
    if n_classes == 2:
        names += [f"{split}_{m}" for split in ("val", "test") for m in ("specificity", "sensitivity")]
        names += [
            f"{kind}_{beta_name(b)}"
            for b in betas
            for kind in ("val", "test", "threshold", "oracle_test", "oracle_threshold")
        ]
    return names
