"""How much each input (modality) of a model of several inputs contributes to its test predictions:
the drop in test macro-F1 and balanced accuracy when the input is ablated, and its share of the
integrated-gradients attribution (seed 002 compares metadata-only, image-only and fusion models;
this measures what one fusion model draws from each input)."""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import SCORES, class_probabilities, metric_suffix
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.integrated_gradients import explained_outputs, integrated_gradients
from transferlab.explainers.settings import ModalitySettings


def test_scores(model, inputs: dict, labels: np.ndarray) -> np.ndarray:
    """[macro-F1, balanced accuracy] of the argmax predictions."""
    probabilities = class_probabilities(model, inputs)
    return np.array([SCORES[name](labels, probabilities) for name in ("macro_f1", "balanced_accuracy")])


def ablated(inputs: dict, name: str, ablation: str, mean: np.ndarray, rng: np.random.Generator) -> dict:
    """`inputs` with input `name` replaced by its training mean on every row, or its rows shuffled.

    Hand-written rather than scikit-learn's permutation_importance: that permutes one column of one
    2-D array at a time, while a modality here is a whole named input (an image is thousands of
    columns, shuffled together), and it has no mean-replacement ablation."""
    array = inputs[name]
    replaced = np.broadcast_to(mean, array.shape) if ablation == "mean" else array[rng.permutation(len(array))]
    return inputs | {name: replaced}


class ModalityContributions(Explainer):
    """Per input: the mean drop in test macro-F1 and balanced accuracy when that input is ablated
    (`ablation`: mean = its training mean on every row; shuffle = its rows permuted across test rows,
    `n_repeats` seeded times), and its share of the summed |IG| (mean over the first `max_rows` test
    rows of the sum of |attribution| over the input, from its training mean, of the predicted class;
    `steps` path points, `chunk_rows` interpolated rows per model call), the other inputs held."""

    settings = ModalitySettings  # validated before anything is loaded (config_checks)

    def __init__(
        self,
        ablation: str = "shuffle",
        n_repeats: int = 5,
        steps: int = 32,
        max_rows: int = 200,
        chunk_rows: int = 2048,
    ):
        self.ablation, self.n_repeats = ablation, n_repeats
        self.steps, self.max_rows, self.chunk_rows = steps, max_rows, chunk_rows

    def check(self, data: PreparedData, model) -> None:
        if len(data.specs) < 2:
            raise ConfigError(
                "explainer",
                "modality",
                f"needs a dataset with several inputs; this one has one: {data.describe_inputs()}",
            )

    def ablation_drops(self, context: ExplainContext, means: dict) -> dict[str, np.ndarray]:
        """Per input: [macro-F1 drop, balanced-accuracy drop] on the test split."""
        model, test = context.model, context.data.test
        rng = np.random.default_rng(context.seed)
        base = test_scores(model, test.inputs, test.labels)
        repeats = 1 if self.ablation == "mean" else self.n_repeats

        def ablated_score(name: str) -> np.ndarray:
            ablations = (ablated(test.inputs, name, self.ablation, means[name], rng) for _ in range(repeats))
            return np.mean([test_scores(model, inputs, test.labels) for inputs in ablations], axis=0)

        return {name: base - ablated_score(name) for name in means}

    def ig_shares(self, context: ExplainContext, means: dict) -> dict[str, float]:
        """Per input: mean over rows of sum |IG| over the input, as a share of the total over inputs."""
        model, inputs = context.model, context.data.test.head(self.max_rows).inputs
        target = explained_outputs(model, inputs)
        totals = {
            name: float(
                np.abs(integrated_gradients(model, inputs, name, mean, target, self.steps, self.chunk_rows))
                .reshape(len(target), -1)
                .sum(axis=1)
                .mean()
            )
            for name, mean in means.items()
        }
        overall = sum(totals.values())
        return {name: total / overall if overall > 0 else 0.0 for name, total in totals.items()}

    def explain(self, context: ExplainContext) -> Explanation:
        data = context.data
        means = {name: data.train.inputs[name].mean(axis=0, dtype="float64").astype("float32") for name in data.specs}
        drops, shares = self.ablation_drops(context, means), self.ig_shares(context, means)
        table = pd.DataFrame(
            {
                "input": list(data.specs),
                "kind": [spec.kind.value for spec in data.specs.values()],
                "macro_f1_drop": [drops[name][0] for name in data.specs],
                "balanced_accuracy_drop": [drops[name][1] for name in data.specs],
                "ig_share": [shares[name] for name in data.specs],
            }
        )
        metrics = {}
        for row in table.itertuples():
            suffix = metric_suffix(row.input)
            metrics |= {
                f"modality_{suffix}_macro_f1_drop": row.macro_f1_drop,
                f"modality_{suffix}_ig_share": row.ig_share,
            }
        return Explanation(table, {"modality.png": self.figure(table)}, metrics)

    def figure(self, table: pd.DataFrame):
        """Two panels per input: the ablation's drops, and the IG share."""
        figure, (drop_ax, share_ax) = plt.subplots(1, 2, figsize=(10, 0.5 * len(table) + 2), layout="constrained")
        positions = np.arange(len(table))
        drop_ax.barh(positions - 0.2, table.macro_f1_drop, 0.4, label="macro-F1")
        drop_ax.barh(positions + 0.2, table.balanced_accuracy_drop, 0.4, label="balanced accuracy")
        for bars in drop_ax.containers:
            drop_ax.bar_label(bars, fmt="%.2f", padding=3, fontsize=8)
        drop_ax.axvline(0, color="black", linewidth=0.8)
        drop_ax.set_title(f"Drop in test score, input ablated ({self.ablation})")
        drop_ax.legend(fontsize=8)
        share_ax.barh(positions, table.ig_share, color="tab:green")
        share_ax.bar_label(share_ax.containers[0], [f"{share:.0%}" for share in table.ig_share], padding=3)
        share_ax.set_xlim(0, 1.1)
        share_ax.set_title("Share of |integrated gradients|")
        labels = [f"{name} ({kind})" for name, kind in zip(table.input, table.kind)]
        for ax in (drop_ax, share_ax):
            ax.set_yticks(positions, labels)
            ax.invert_yaxis()
        return figure
