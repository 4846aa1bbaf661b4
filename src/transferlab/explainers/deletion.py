"""Faithfulness of table explanations: deletion curves (test ROC-AUC as the top-k features of a
ranking take their training-split means) and the mean drop along them, beside a random ranking.

Hand-written: no maintained library computes deletion curves for a Keras model with named inputs
(captum is PyTorch-only; quantus takes one input array of a PyTorch or TensorFlow model).
"""

import numpy as np
import pandas as pd

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities, probability_scorer
from transferlab.explainers.base import ExplainContext, Explanation

MAX_STEPS = 20  # features removed at most: the curve's top of the ranking is what a user reads
RANDOM = "random"
roc_auc = probability_scorer("roc_auc")  # binary: positive class; several classes: macro one-vs-rest


def table_explanations(explanations: dict[str, Explanation], data: PreparedData) -> dict[str, Explanation]:
    """The explanations whose importance ranks the columns of a table input."""
    return {
        name: explanation
        for name, explanation in explanations.items()
        if explanation.importance is not None
        and explanation.explained_input in data.specs
        and data.specs[explanation.explained_input].kind == InputKind.TABLE
    }


def ranking(importance: pd.Series, columns) -> list[str]:
    """The input's columns that `importance` ranks, most important first."""
    ordered = importance.dropna().sort_values(ascending=False, kind="stable").index
    return [feature for feature in ordered if feature in columns]


def deletion_curve(model, data: PreparedData, name: str, ranked: list[str]) -> pd.DataFrame:
    """k, the feature removed at step k, test ROC-AUC and its drop from k = 0, for k = 0..K
    (K = min(features ranked, 20)): the first k features of `ranked` (columns of table input `name`)
    are set to their training means on every test row, the model's other inputs as they are."""
    test, columns = data.test, list(data.specs[name].columns)
    means = data.train.inputs[name].mean(axis=0)
    positions = [columns.index(feature) for feature in ranked[:MAX_STEPS]]
    scores = []
    for k in range(len(positions) + 1):  # one model call over every test row per step
        x = test.inputs[name].copy()
        x[:, positions[:k]] = means[positions[:k]]
        scores.append(roc_auc(test.labels, class_probabilities(model, test.inputs | {name: x})))
    return pd.DataFrame(
        {
            "k": range(len(scores)),
            "feature": [""] + [columns[p] for p in positions],
            "roc_auc": scores,
            "drop": scores[0] - np.array(scores),
        }
    )


def deletion_table(explanations: dict[str, Explanation], context: ExplainContext) -> pd.DataFrame:
    """Deletion curves of table explanations (each explains one table input), one per explanation and
    a seeded random ranking of each explained input (`random`; `random_<input>` for several inputs)."""
    data = context.data
    curves = {}
    for name, explanation in explanations.items():
        columns = data.specs[explanation.explained_input].columns
        curves[name] = (explanation.explained_input, ranking(explanation.importance, columns))
    inputs = sorted({input_name for input_name, _ in curves.values()})
    rng = np.random.default_rng(context.seed)
    for input_name in inputs:
        label = RANDOM if len(inputs) == 1 else f"{RANDOM}_{input_name}"
        curves[label] = (input_name, list(rng.permutation(data.specs[input_name].columns)))
    return pd.concat(
        [
            deletion_curve(context.model, data, input_name, ranked).assign(explainer=name)
            for name, (input_name, ranked) in curves.items()
        ],
        ignore_index=True,
    )[["explainer", "k", "feature", "roc_auc", "drop"]]


def faithfulness_metrics(table: pd.DataFrame) -> dict[str, float]:
    """explainer_faithfulness_<name>: the area under the drop curve over k = 1..K, divided by K
    (the mean drop; higher = the ranking found features the model relies on)."""
    removed = table[table.k > 0]
    return {
        f"explainer_faithfulness_{name}": float(drop)
        for name, drop in removed.groupby("explainer")["drop"].mean().items()
    }


def roc_auc_defined(data: PreparedData) -> bool:
    """Whether test ROC-AUC exists: every class occurs among the test labels."""
    return len(np.unique(data.test.labels)) == data.n_classes
