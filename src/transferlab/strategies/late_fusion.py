"""Late fusion (seed 002, milestone 3): each branch a whole single-input classifier (stage
`branch_<input>`, or loaded from `sources.<input>`), frozen; their outputs combined by `combiner`:

- head: Dense(one unit per class) on the concatenated probabilities, trained (stage "fusion");
- stacked: scikit-learn's LogisticRegression fitted on the branches' validation-split probabilities
  (out of sample: no branch trained on them), copied into a fixed Dense layer, so it predicts
  exactly what predict_proba does;
- mean: the average of the branches' probabilities; weighted: weighted by each branch's validation
  macro-F1, normalised to sum to 1.

Every combiner is one Dense layer named "output" on the concatenated branch outputs, with
`classification_output`'s convention: one unit per class, or for two classes one unit, the positive
class's probability (which is also what each branch outputs then). So the combined model is one
Keras model with one probability per class that evaluation, explainers and model logging take as is.
"""

from dataclasses import dataclass
from typing import Literal

import keras
import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from transferlab.data.inputs import Examples
from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import predict_array
from transferlab.models.fusion import Branch
from transferlab.models.layers import classification_output, model_input, named_inputs, output_activation
from transferlab.strategies.base import TrainedModel
from transferlab.strategies.branches import FusionStrategy, sources_option
from transferlab.strategies.common import ModelSource, fit_classifier
from transferlab.strategies.finetune import Unfreeze
from transferlab.tracking.raw_row_model import probabilities_from_outputs
from transferlab.validation import Settings


@dataclass
class Combination:
    """A fixed output layer, activation(concatenated branch outputs @ kernel + bias); `weights`:
    each branch's weight (mean, weighted)."""

    kernel: np.ndarray
    bias: np.ndarray
    activation: str
    weights: dict[str, float]


def late_fusion_model(specs, branches: dict[str, Branch], output) -> keras.Model:
    """Named inputs -> each branch's classifier on its input -> concatenated outputs -> `output` (a layer)."""
    inputs = named_inputs(specs)
    outputs = [
        branch.classifier(model_input(branch.classifier, {name: inputs[name]})) for name, branch in branches.items()
    ]
    return keras.Model(inputs, output(keras.layers.Concatenate(name="branch_outputs")(outputs)), name="late_fusion")


def fixed_output(combination: Combination):
    """The combination as a frozen Dense layer named "output" (float32, as classification_output)."""

    def apply(x):
        layer = keras.layers.Dense(
            combination.kernel.shape[1], activation=combination.activation, dtype="float32", name="output"
        )
        y = layer(x)
        layer.set_weights([combination.kernel.astype("float32"), combination.bias.astype("float32")])
        layer.trainable = False
        return y

    return apply


def branch_outputs(branches: dict[str, Branch], examples: Examples) -> list[np.ndarray]:
    """Each branch's outputs on `examples`, as the combined model concatenates them."""
    return [predict_array(branch.classifier, {name: examples.inputs[name]}) for name, branch in branches.items()]


def averaging(names, weights, units: int) -> Combination:
    """The weighted mean of the branches' outputs: kernel [w_1 I; w_2 I; ...], no bias, linear."""
    weights = np.asarray(weights, dtype="float64")
    kernel = np.vstack([weight * np.eye(units) for weight in weights])
    return Combination(kernel, np.zeros(units), "linear", dict(zip(names, weights.tolist())))


def macro_f1(outputs: np.ndarray, labels: np.ndarray) -> float:
    return float(f1_score(labels, probabilities_from_outputs(outputs).argmax(axis=1), average="macro"))


def combination(combiner: str, names, outputs: list[np.ndarray], labels, n_classes: int, class_weight) -> Combination:
    """The fixed output layer of a stacked, mean or weighted combiner, from the branches' validation outputs."""
    units = outputs[0].shape[1]
    if combiner == "stacked":
        stacker = LogisticRegression(max_iter=1000, class_weight=class_weight).fit(np.hstack(outputs), labels)
        return Combination(stacker.coef_.T, stacker.intercept_, output_activation(n_classes), {})
    if combiner == "mean":
        return averaging(names, [1 / len(outputs)] * len(outputs), units)
    scores = np.array([macro_f1(output, labels) for output in outputs])
    return averaging(names, scores / scores.sum() if scores.sum() > 0 else np.full(len(scores), 1 / len(scores)), units)


class LateFusion(FusionStrategy):
    """Stages: `branch_<input>` for each input without a source, then "fusion" (combiner=head only)."""

    name = "late_fusion"

    class Options(Settings):
        combiner: Literal["head", "stacked", "mean", "weighted"] = "head"
        sources: dict[str, ModelSource] = sources_option()
        branch_unfreeze: Unfreeze = 10

    def check(self, builder, data):
        branches = self.starting_branches(builder, data)
        missing = sorted(set(range(data.n_classes)) - set(np.unique(data.val.labels).tolist()))
        if self.options.combiner == "stacked" and missing:
            raise ConfigError(
                "strategy.combiner",
                "stacked",
                f"the validation split has no rows of class {', '.join(data.class_names[i] for i in missing)}; "
                "the logistic regression needs every class (choose head, mean or weighted)",
            )
        return late_fusion_model(data.specs, branches, lambda x: classification_output(x, data.n_classes))

    def train(self, builder, data, settings_for) -> TrainedModel:
        branches, stages = self.trained_branches(builder, data, settings_for)
        for branch in branches.values():
            branch.classifier.trainable = False
        if self.options.combiner == "head":
            model = late_fusion_model(data.specs, branches, lambda x: classification_output(x, data.n_classes))
            stages |= {"fusion": fit_classifier(model, "fusion", data, settings_for, pool="train")}
            return TrainedModel(model, None, stages)
        class_weight = "balanced" if settings_for("fusion").class_weight == "balanced" else None
        outputs = branch_outputs(branches, data.val)
        combined = combination(
            self.options.combiner, list(branches), outputs, data.val.labels, data.n_classes, class_weight
        )
        metrics = {f"late_fusion_weight_{name}": weight for name, weight in combined.weights.items()}
        return TrainedModel(
            late_fusion_model(data.specs, branches, fixed_output(combined)), None, stages, metrics=metrics
        )
