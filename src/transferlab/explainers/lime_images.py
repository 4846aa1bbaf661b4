"""LIME image explanations (lime.lime_image): which superpixels speak for and against the prediction."""

import numpy as np
from lime.lime_image import LimeImageExplainer
from lime.wrappers.scikit_image import SegmentationAlgorithm

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError, first_line
from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import only_input
from transferlab.explainers.image_figures import overlay_grid
from transferlab.explainers.samples import sample_test_images
from transferlab.explainers.settings import SLIC_SEGMENTATION

KEY = "explainer.lime"


def lime_rgb(images: np.ndarray) -> np.ndarray:
    """Raw 0..255 pixels as the 0..1 RGB images lime perturbs and segments (gray repeated)."""
    return np.repeat(images, 3, axis=-1) / 255.0 if images.shape[-1] == 1 else images / 255.0


class LimeImages(Explainer):
    """LIME of the predicted class for a seeded sample of `n_images` correct and wrong test
    predictions: `num_samples` perturbed images each, the `num_features` strongest superpixels
    shown (green for, red against). Hidden superpixels get the pixel value `hide_color`, or their
    mean colour when null (a no-op on the one-pixel superpixels of tiny images). `segmentation` is
    lime's SegmentationAlgorithm (algorithm + its scikit-image arguments). Seeded with the run's seed.
    """

    def __init__(
        self,
        n_images: int = 4,
        num_samples: int = 1000,
        num_features: int = 5,
        hide_color=0.0,
        batch_size: int = 64,
        segmentation=SLIC_SEGMENTATION,
    ):
        self.n_images, self.num_samples, self.num_features = n_images, num_samples, num_features
        self.hide_color, self.batch_size = hide_color, batch_size
        self.segmentation = dict(segmentation)

    def segmenter(self, seed: int) -> SegmentationAlgorithm:
        settings = dict(self.segmentation)
        algorithm = settings.pop("algorithm", None)
        if algorithm == "slic":  # lime numbers superpixels 0..n-1; scikit-image's slic starts at 1 unless told
            settings.setdefault("start_label", 0)
        return SegmentationAlgorithm(algorithm, **settings, random_seed=seed)

    def check(self, data: PreparedData, model) -> None:
        spec = only_input(data, "lime", (InputKind.IMAGE,))
        try:  # the scikit-image arguments, tried on one test image
            n_segments = len(np.unique(self.segmenter(0)(lime_rgb(data.test.head(1).inputs[spec.name])[0])))
        except (TypeError, ValueError) as error:
            raise ConfigError(f"{KEY}.segmentation", self.segmentation, first_line(error)) from error
        if n_segments < 2:
            raise ConfigError(
                f"{KEY}.segmentation",
                self.segmentation,
                "cuts test image 0 into one superpixel; LIME needs several (e.g. algorithm slic with n_segments 50)",
            )

    def explain(self, context: ExplainContext) -> Explanation:
        model, class_names = context.model, context.data.class_names
        sample = sample_test_images(model, context.data, self.n_images, context.seed)
        channels = sample.images.shape[-1]

        def classify(rgb: np.ndarray) -> np.ndarray:
            pixels = rgb.mean(axis=-1, keepdims=True) if channels == 1 else rgb
            return class_probabilities(model, {sample.input_name: (pixels * 255.0).astype("float32")})

        explainer = LimeImageExplainer(random_state=context.seed)
        hide = None if self.hide_color is None else self.hide_color / 255.0
        masks, scores = [], []
        for image, label in zip(lime_rgb(sample.images), sample.predicted):  # lime explains one image per call
            explanation = explainer.explain_instance(
                image,
                classify,
                labels=(label,),
                hide_color=hide,
                top_labels=None,
                num_samples=self.num_samples,
                batch_size=self.batch_size,
                segmentation_fn=self.segmenter(context.seed),
            )
            _, mask = explanation.get_image_and_mask(label, positive_only=False, num_features=self.num_features)
            masks.append(np.where(mask == 0, np.nan, mask))
            scores.append(explanation.score)
        figure = overlay_grid(
            sample.images,
            masks,
            sample.titles(class_names),
            sample.correct,
            f"LIME: the {self.num_features} strongest superpixels for (green) and against (red) the prediction",
            cmap="RdYlGn",
            alpha=0.45,
            symmetric=True,
        )
        return Explanation(
            sample.table(class_names).assign(local_r2=scores),
            {"lime.png": figure},
            {"lime_local_r2_mean": float(np.mean(scores))},
        )
