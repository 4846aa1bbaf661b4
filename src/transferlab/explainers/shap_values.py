"""SHAP values with model-agnostic masker explainers (shap.Explainer), for tables and images.

Tables: an Independent masker over training rows. Images: an Image masker (hidden superpixels
filled with `mask_value`) and shap's Partition explainer. Maskers, not DeepExplainer or
GradientExplainer, because those are fragile on Keras 3 and TensorFlow-only; masking works on JAX too.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import explained_input
from transferlab.explainers.image_samples import sample_test_images
from transferlab.explainers.settings import ShapSettings


class ShapValues(Explainer):
    """Tables: mean |SHAP| per feature of the positive-class (or each class's) probability on test rows.
    Images: SHAP values of the predicted class for a seeded sample of `n_images` correct and wrong
    test predictions, `max_evals` model evaluations per image, shown with shap.image_plot.

    mask_value: the raw pixel value (0..255) hidden regions get, or shap's "blur(k,k)" /
    "inpaint_telea" / "inpaint_ns" (these need OpenCV: pip install opencv-python-headless).
    """

    settings = ShapSettings  # validated before anything is loaded (config_checks)

    def __init__(
        self,
        background_rows: int = 100,
        max_rows: int = 200,
        algorithm: str = "auto",
        n_images: int = 4,
        max_evals: int = 500,
        mask_value=0.0,
    ):
        self.background_rows, self.max_rows, self.algorithm = background_rows, max_rows, algorithm
        self.n_images, self.max_evals, self.mask_value = n_images, max_evals, mask_value

    def check(self, data: PreparedData, model) -> None:
        """A single table or image input, any model; its settings were checked before loading."""
        explained_input(data, "shap", (InputKind.TABLE, InputKind.IMAGE))

    def explain(self, context: ExplainContext) -> Explanation:
        spec = explained_input(context.data, "shap", (InputKind.TABLE, InputKind.IMAGE))
        return self.explain_images(context) if spec.kind == InputKind.IMAGE else self.explain_table(context, spec.name)

    def explain_table(self, context: ExplainContext, name: str) -> Explanation:
        data, model = context.data, context.model
        rng = np.random.default_rng(context.seed)
        train = data.train.inputs[name]
        background = train[rng.choice(len(train), min(self.background_rows, len(train)), replace=False)]
        feature_names = list(data.specs[name].columns)

        def predict(x):
            probabilities = class_probabilities(model, {name: np.asarray(x, dtype="float32")})
            return probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities

        explainer = shap.Explainer(
            predict,
            shap.maskers.Independent(background),
            algorithm=self.algorithm,
            feature_names=feature_names,
            seed=context.seed,
        )
        values = explainer(data.test.head(self.max_rows).inputs[name])
        magnitude = np.abs(values.values)
        per_feature = magnitude.mean(axis=(0, 2)) if magnitude.ndim == 3 else magnitude.mean(axis=0)
        table = pd.DataFrame({"feature": feature_names, "mean_abs_shap": per_feature}).sort_values(
            "mean_abs_shap", ascending=False, ignore_index=True
        )
        shown = values if values.values.ndim == 2 else values[..., int(np.argmax(np.bincount(data.test.labels)))]
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
        explainer = shap.Explainer(
            lambda x: class_probabilities(model, {sample.image_name: np.asarray(x, dtype="float32")}),
            masker,
            algorithm="partition",
            output_names=class_names,
            seed=context.seed,
        )
        values = explainer(sample.images, max_evals=self.max_evals, outputs=shap.Explanation.argsort.flip[:1])
        labels = np.array([[f"pred {class_names[p]} ({q:.2f})"] for p, q in zip(sample.predicted, sample.probability)])
        shap.image_plot(values, labels=labels, true_labels=[class_names[t] for t in sample.true], show=False)
        table = sample.table(class_names).assign(
            base_value=values.base_values[:, 0], shap_sum=values.values.reshape(len(sample.index), -1).sum(axis=1)
        )
        return Explanation(table, {"image_plot.png": plt.gcf()})
