"""SHAP text explanations: shap's Text masker (words hidden) with the Partition explainer."""

import re

import numpy as np
import shap

from transferlab.data.text_features import encode_texts
from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.base import ExplainContext, Explanation
from transferlab.explainers.samples import sample_test_texts
from transferlab.explainers.text_tokens import token_explanation


def css_numbers(page: str) -> str:
    """shap.plots.text's page with its colours readable: shap 0.51 writes them as
    `rgba(np.float64(230.3), ...)` under NumPy 2 (the repr of NumPy scalars), which browsers drop
    (every highlight and force-bar segment rendered black or blank)."""
    return re.sub(r"np\.float64\(([^()]*)\)", r"\1", page)


def shap_texts(context: ExplainContext, n_texts: int, max_evals: int, num_features: int) -> Explanation:
    """SHAP values of the predicted class for the seeded sample of `n_texts` test messages that LIME
    explains for the same seed, `max_evals` model evaluations each; the `num_features` strongest
    tokens shown. messages.csv adds base_value and shap_sum (they add up to the probability)."""
    model, data = context.model, context.data
    sample = sample_test_texts(model, data, n_texts, context.seed)
    pipeline = data.preprocessors[sample.input_name]
    explainer = shap.Explainer(
        lambda texts: class_probabilities(model, {sample.input_name: encode_texts(pipeline, texts)}),
        shap.maskers.Text(),  # words split on r"\W+", hidden as "..."
        algorithm="partition",
        output_names=data.class_names,
        seed=context.seed,
    )
    values = explainer(sample.messages, max_evals=max_evals, silent=True)
    explained = [values[k, :, label] for k, label in enumerate(sample.predicted)]
    pairs = [list(zip(one.data, one.values)) for one in explained]
    pages = [css_numbers(shap.plots.text(one, display=False)) for one in explained]
    columns = {
        "base_value": [float(one.base_values) for one in explained],
        "shap_sum": [float(np.sum(one.values)) for one in explained],
    }
    return token_explanation("SHAP", context, sample, pairs, pages, num_features, columns)
