"""SHAP values with model-agnostic masker explainers (shap.Explainer), for tables and images.

Tables: an Independent masker over training rows. Images: an Image masker (hidden superpixels
filled with `mask_value`) and shap's Partition explainer. Maskers, not DeepExplainer or
GradientExplainer, because those are fragile on Keras 3 and TensorFlow-only; masking works on JAX too.
"""
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap

from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.base import ExplainContext, Explanation
from transferlab.explainers.image_samples import sample_test_images
from transferlab.explainers.settings import ShapSettings


class ShapValues:
    """Tables: mean |SHAP| per feature of the positive-class (or each class's) probability on test rows.
    Images: SHAP values of the predicted class for a seeded sample of `n_images` correct and wrong
    test predictions, `max_evals` model evaluations per image, shown with shap.image_plot.

    mask_value: the raw pixel value (0..255) hidden regions get, or shap's "blur(k,k)" /
    "inpaint_telea" / "inpaint_ns" (these need OpenCV: pip install opencv-python-headless).
    """

    settings = ShapSettings   # validated before anything is loaded (config_checks)

    def __init__(self, background_rows: int = 100, max_rows: int = 200, algorithm: str = "auto",
                 n_images: int = 4, max_evals: int = 500, mask_value=0.0):
        self.background_rows, self.max_rows, self.algorithm = background_rows, max_rows, algorithm
        self.n_images, self.max_evals, self.mask_value = n_images, max_evals, mask_value

    def check(self, data, model) -> None:
        """Works on tables and images, any model; its settings were checked before loading."""

    def explain(self, context: ExplainContext) -> Explanation:
        return self.explain_images(context) if context.data.holds_images else self.explain_table(context)

    def explain_table(self, context: ExplainContext) -> Explanation:
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

    def explain_images(self, context: ExplainContext) -> Explanation:
        model, class_names = context.model, context.data.class_names
        sample = sample_test_images(model, context.data, self.n_images, context.seed)
        masker = shap.maskers.Image(self.mask_value, sample.images.shape[1:])
        explainer = shap.Explainer(lambda x: class_probabilities(model, np.asarray(x, dtype="float32")), masker,
                                   algorithm="partition", output_names=class_names, seed=context.seed)
        values = explainer(sample.images, max_evals=self.max_evals, outputs=shap.Explanation.argsort.flip[:1])
        labels = np.array([[f"pred {class_names[p]} ({q:.2f})"] for p, q in zip(sample.predicted, sample.probability)])
        shap.image_plot(values, labels=labels, true_labels=[class_names[t] for t in sample.true], show=False)
        table = sample.table(class_names).assign(base_value=values.base_values[:, 0],
                                                 shap_sum=values.values.reshape(len(sample.index), -1).sum(axis=1))
        return Explanation(table, {"image_plot.png": plt.gcf()})
