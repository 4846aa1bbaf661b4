"""Integrated gradients (Sundararajan et al., 2017), batched over rows and path steps.

No maintained library computes IG for Keras 3 on both TensorFlow and JAX (shap has expected
gradients, alibi/tf-explain are TensorFlow-only), so it is written here on top of one helper.
"""

import numpy as np
import pandas as pd

from transferlab.data.inputs import InputKind, count_rows
from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities, predict_array
from transferlab.evaluation.plots import importance_bars
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import explained_input
from transferlab.explainers.gradients import input_gradients
from transferlab.explainers.image_figures import overlay_grid
from transferlab.explainers.samples import sample_test_images
from transferlab.explainers.settings import IntegratedGradientsSettings


def integrated_gradients(
    model, inputs: dict, name: str, baseline: np.ndarray, target: np.ndarray, steps: int = 64, chunk_rows: int = 65536
) -> np.ndarray:
    """IG attributions of output `target[i]` to input `name` (same shape as inputs[name], any
    example shape) for every row, the model's other inputs held at each row's values; trapezoid rule.

    All rows' interpolation paths are evaluated together, `chunk_rows` points per model call,
    instead of one gradient tape per row as in seed 000.
    """
    x = np.asarray(inputs[name], dtype="float32")
    others = {key: array for key, array in inputs.items() if key != name}
    n_outputs = model.output_shape[-1]
    alphas = np.linspace(0.0, 1.0, steps + 1, dtype="float32").reshape(1, steps + 1, *[1] * (x.ndim - 1))
    rows_per_chunk = max(1, chunk_rows // (steps + 1))
    attributions = np.empty_like(x)
    for start in range(0, len(x), rows_per_chunk):
        rows = slice(start, start + rows_per_chunk)
        delta = x[rows] - baseline
        path = baseline + alphas * delta[:, None]  # (rows, steps+1, *example)
        path_inputs = {key: np.repeat(array[rows], steps + 1, axis=0) for key, array in others.items()}
        weights = np.eye(n_outputs, dtype="float32")[target[rows]]
        grads = input_gradients(
            model, path_inputs | {name: path.reshape(-1, *x.shape[1:])}, name, np.repeat(weights, steps + 1, axis=0)
        ).reshape(path.shape)
        mean_grads = (grads[:, :-1] + grads[:, 1:]).mean(axis=1) / 2.0  # trapezoid rule
        attributions[rows] = delta * mean_grads
    return attributions


def model_outputs(model, inputs: dict, target: np.ndarray) -> np.ndarray:
    """The raw model output that IG explains, per row."""
    return predict_array(model, inputs)[np.arange(len(target)), target]


def explained_outputs(model, inputs: dict, predicted: np.ndarray | None = None) -> np.ndarray:
    """The output IG explains per row: the single sigmoid unit, else the predicted class
    (`predicted` when the caller already has it)."""
    if model.output_shape[-1] == 1:
        return np.zeros(count_rows(inputs), dtype=int)
    return predicted if predicted is not None else class_probabilities(model, inputs).argmax(axis=1)


def completeness_gaps(
    model, inputs: dict, name: str, baseline: np.ndarray, target: np.ndarray, attributions: np.ndarray
) -> np.ndarray:
    """|sum(IG) - (f(x) - f(baseline))| per row, where only input `name` moves to its baseline."""
    at_baseline = inputs | {name: np.repeat(baseline[None], len(target), axis=0)}
    expected = model_outputs(model, inputs, target) - model_outputs(model, at_baseline, target)
    return np.abs(attributions.reshape(len(target), -1).sum(axis=1) - expected)


def gap_metrics(gap: np.ndarray) -> dict[str, float]:
    return {"ig_completeness_gap_max": float(gap.max()), "ig_completeness_gap_mean": float(gap.mean())}


class IntegratedGradients(Explainer):
    """Tables: mean |IG| per feature on test rows (the first `max_rows`), from a zero baseline in
    scaled space (seed 000). Images: IG from a black image for a seeded sample of `n_images`
    correct and wrong test predictions, summed over channels and shown over the images;
    `chunk_images` interpolated images per model call (chunk_rows is the tables' equivalent).
    input: the input explained in a model of several inputs (default: its one table input); the
    other inputs keep each row's values."""

    settings = IntegratedGradientsSettings  # validated before anything is loaded (config_checks)

    def __init__(
        self,
        steps: int = 64,
        max_rows=None,
        chunk_rows: int = 65536,
        n_images: int = 8,
        chunk_images: int = 256,
        input: str | None = None,
    ):
        self.steps, self.max_rows, self.chunk_rows = steps, max_rows, chunk_rows
        self.n_images, self.chunk_images, self.input = n_images, chunk_images, input

    def check(self, data: PreparedData, model) -> None:
        """Which table or image input it explains, any model; its settings were checked before loading."""
        explained_input(data, "integrated_gradients", (InputKind.TABLE, InputKind.IMAGE), self.input)

    def explain(self, context: ExplainContext) -> Explanation:
        spec = explained_input(context.data, "integrated_gradients", (InputKind.TABLE, InputKind.IMAGE), self.input)
        return self.explain_images(context) if spec.kind == InputKind.IMAGE else self.explain_table(context, spec.name)

    def explain_table(self, context: ExplainContext, name: str) -> Explanation:
        model, inputs = context.model, context.data.test.head(self.max_rows).inputs
        target = explained_outputs(model, inputs)
        baseline = np.zeros(inputs[name].shape[1], dtype="float32")
        attributions = integrated_gradients(model, inputs, name, baseline, target, self.steps, self.chunk_rows)
        gap = completeness_gaps(model, inputs, name, baseline, target, attributions)
        names = context.data.specs[name].columns
        table = pd.DataFrame(
            {"feature": names, "ig_importance": np.abs(attributions).mean(axis=0), "ig_mean": attributions.mean(axis=0)}
        )
        table = table.sort_values("ig_importance", ascending=False, ignore_index=True)
        figure = importance_bars(
            table.feature, table.ig_importance, "Integrated gradients: mean |IG| (test)", "mean |IG|"
        )
        importance = table.set_index("feature").ig_importance
        return Explanation(
            table, {"importance.png": figure}, gap_metrics(gap), importance=importance, explained_input=name
        )

    def explain_images(self, context: ExplainContext) -> Explanation:
        model, class_names = context.model, context.data.class_names
        sample = sample_test_images(model, context.data, self.n_images, context.seed)
        target = explained_outputs(model, sample.inputs, sample.predicted)
        baseline = np.zeros(sample.images.shape[1:], dtype="float32")
        attributions = integrated_gradients(
            model, sample.inputs, sample.input_name, baseline, target, self.steps, self.chunk_images
        )
        gap = completeness_gaps(model, sample.inputs, sample.input_name, baseline, target, attributions)
        figure = overlay_grid(
            sample.images,
            attributions.sum(axis=-1),
            sample.titles(class_names),
            sample.correct,
            "Integrated gradients from a black image, summed over channels (red +, blue -)",
            cmap="bwr",
            alpha=0.6,
            symmetric=True,
        )
        table = sample.table(class_names).assign(completeness_gap=gap)
        return Explanation(table, {"integrated_gradients.png": figure}, gap_metrics(gap))
