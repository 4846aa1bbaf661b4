"""SHAP values with model-agnostic masker explainers (shap.Explainer), for tables, images and texts.

Tables: an Independent masker over training rows; in a model of several inputs (seed 002's
metadata + image), one table input is explained while the others keep the explained row's values.
Images: an Image masker (hidden superpixels filled with `mask_value`) and shap's Partition
explainer. Texts: shap_texts.py. Maskers, not DeepExplainer or GradientExplainer (seed 002's
choice), because those are fragile on Keras 3 and TensorFlow-only; masking works on JAX too.
"""

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import shap

from transferlab.data.inputs import InputKind, take_rows
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import explained_input, settings_fit_input
from transferlab.explainers.samples import sample_test_images
from transferlab.explainers.settings import ShapSettings
from transferlab.explainers.shap_texts import shap_texts

# Settings for some kinds of input only: one changed for another kind is an error (checks.settings_fit_input).
KINDS_OF = {
    "background_rows": (InputKind.TABLE,),
    "max_rows": (InputKind.TABLE,),
    "algorithm": (InputKind.TABLE,),
    "n_images": (InputKind.IMAGE,),
    "mask_value": (InputKind.IMAGE,),
    "max_evals": (InputKind.IMAGE, InputKind.TEXT),
    "n_texts": (InputKind.TEXT,),
    "num_features": (InputKind.TEXT,),
}


class ShapValues(Explainer):
    """Tables: mean |SHAP| per feature of the positive-class (or each class's) probability on test rows.
    input: the table input explained in a model of several inputs (default: its one table input).
    Images (single-input models): SHAP values of the predicted class for a seeded sample of `n_images` correct and wrong
    test predictions, `max_evals` model evaluations per image, shown with shap.image_plot.
    Texts (single-input models): shap_texts, `n_texts` messages, `num_features` tokens shown each.

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
        n_texts: int = 6,
        num_features: int = 10,
        input: str | None = None,
    ):
        self.background_rows, self.max_rows, self.algorithm = background_rows, max_rows, algorithm
        self.n_images, self.max_evals, self.mask_value, self.input = n_images, max_evals, mask_value, input
        self.n_texts, self.num_features = n_texts, num_features

    def explained(self, data: PreparedData):
        """A table input (the model's other inputs held), or the one input of an image or text model;
        settings for other kinds of input than this one left at their defaults."""
        spec = explained_input(data, "shap", (InputKind.TABLE, InputKind.IMAGE, InputKind.TEXT), self.input)
        if spec.kind != InputKind.TABLE and len(data.specs) > 1:
            advice = "; for its images choose gradcam" if spec.kind == InputKind.IMAGE else ""
            raise ConfigError(
                "explainer.shap.input", spec.name, f"SHAP explains a table input of a model of several inputs{advice}"
            )
        settings_fit_input(self, "shap", spec, KINDS_OF)
        return spec

    def check(self, data: PreparedData, model) -> None:
        """Which input it explains, any model; its settings were checked before loading."""
        self.explained(data)

    def explain(self, context: ExplainContext) -> Explanation:
        spec = self.explained(context.data)
        if spec.kind == InputKind.TEXT:
            return shap_texts(context, self.n_texts, self.max_evals, self.num_features)
        return self.explain_images(context) if spec.kind == InputKind.IMAGE else self.explain_table(context, spec.name)

    def table_values(self, context: ExplainContext, name: str) -> shap.Explanation:
        """SHAP values of the first max_rows test rows of input `name`: of the positive-class
        probability, or of every class's. Every row at once; with other inputs, row by row, each
        row's other inputs repeated for all of its masked copies."""
        data, model = context.data, context.model
        rng = np.random.default_rng(context.seed)
        train = data.train.inputs[name]
        masker = shap.maskers.Independent(
            train[rng.choice(len(train), min(self.background_rows, len(train)), replace=False)]
        )
        test = data.test.head(self.max_rows).inputs
        others = {key: array for key, array in test.items() if key != name}

        def explain_rows(rows: slice) -> shap.Explanation:
            held = take_rows(others, rows)

            def predict(x):
                x = np.asarray(x, dtype="float32")
                repeated = {key: np.repeat(array, len(x), axis=0) for key, array in held.items()}  # one row
                probabilities = class_probabilities(model, {name: x} | repeated)
                return probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities

            explainer = shap.Explainer(
                predict,
                masker,
                algorithm=self.algorithm,
                feature_names=list(data.specs[name].columns),
                seed=context.seed,
            )
            return explainer(test[name][rows])

        if not others:
            return explain_rows(slice(None))
        parts = [explain_rows(slice(row, row + 1)) for row in range(len(test[name]))]
        return shap.Explanation(
            np.concatenate([part.values for part in parts]),
            np.concatenate([part.base_values for part in parts]),
            np.concatenate([part.data for part in parts]),
            feature_names=parts[0].feature_names,
        )

    def explain_table(self, context: ExplainContext, input_name: str) -> Explanation:
        data = context.data
        values = self.table_values(context, input_name)
        feature_names = list(data.specs[input_name].columns)
        magnitude = np.abs(values.values)
        per_feature = magnitude.mean(axis=(0, 2)) if magnitude.ndim == 3 else magnitude.mean(axis=0)
        table = pd.DataFrame({"feature": feature_names, "mean_abs_shap": per_feature}).sort_values(
            "mean_abs_shap", ascending=False, ignore_index=True
        )
        shown_class = 1 if values.values.ndim == 2 else int(np.argmax(np.bincount(data.test.labels)))
        shown = values if values.values.ndim == 2 else values[..., shown_class]
        figures = {}
        for name, plot in (("bar.png", shap.plots.bar), ("beeswarm.png", shap.plots.beeswarm)):
            plt.figure()
            plot(shown, show=False, max_display=20)
            figures[name] = plt.gcf()
            figures[name].suptitle(f"SHAP of P({data.class_names[shown_class]}), input {input_name}")
            figures[name].tight_layout()  # long feature names (one-hot columns) stay inside the image
        importance = table.set_index("feature").mean_abs_shap
        return Explanation(table, figures, importance=importance, explained_input=input_name)

    def explain_images(self, context: ExplainContext) -> Explanation:
        model, class_names = context.model, context.data.class_names
        sample = sample_test_images(model, context.data, self.n_images, context.seed)
        masker = shap.maskers.Image(self.mask_value, sample.images.shape[1:])
        explainer = shap.Explainer(
            lambda x: class_probabilities(model, {sample.input_name: np.asarray(x, dtype="float32")}),
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
