"""SHAP values for tabular models: shap.Explainer with an Independent masker over training rows.

A model-agnostic masker explainer is used because shap's DeepExplainer is fragile on Keras 3.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap

from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.base import ExplainContext, Explanation


class ShapValues:
    """Mean |SHAP| per feature of the positive-class (or each class's) probability on test rows."""

    def __init__(self, background_rows: int = 100, max_rows: int = 200, algorithm: str = "auto"):
        self.background_rows, self.max_rows, self.algorithm = background_rows, max_rows, algorithm

    def explain(self, context: ExplainContext) -> Explanation:
        data, model = context.data, context.model
        rng = np.random.default_rng(context.seed)
        background = data.x_train[rng.choice(len(data.x_train), min(self.background_rows, len(data.x_train)), replace=False)]

        def predict(x):
            probabilities = class_probabilities(model, np.asarray(x, dtype="float32"))
            return probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities

        explainer = shap.Explainer(predict, shap.maskers.Independent(background), algorithm=self.algorithm,
                                   feature_names=data.feature_names, seed=context.seed)
        values = explainer(data.x_test[: self.max_rows])
        magnitude = np.abs(values.values)
        per_feature = magnitude.mean(axis=(0, 2)) if magnitude.ndim == 3 else magnitude.mean(axis=0)
        table = pd.DataFrame({"feature": data.feature_names, "mean_abs_shap": per_feature}).sort_values("mean_abs_shap", ascending=False, ignore_index=True)
        shown = values if values.values.ndim == 2 else values[..., int(np.argmax(np.bincount(data.y_test)))]
        figures = {}
        for name, plot in (("bar.png", shap.plots.bar), ("beeswarm.png", shap.plots.beeswarm)):
            plt.figure()
            plot(shown, show=False, max_display=20)
            figures[name] = plt.gcf()
        return Explanation(table, figures)
