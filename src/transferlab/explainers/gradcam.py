"""Grad-CAM (Selvaraju et al., 2017) heatmaps of a convolutional layer for test images.

Written here because no maintained library does Grad-CAM for Keras 3 on both TensorFlow and JAX
(tf-keras-vis and tf-explain are TensorFlow/tf.keras only); the gradients come from gradients.py.
"""

import keras
import numpy as np

from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.explainers.activations import required_conv_layers
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import image_input
from transferlab.explainers.gradients import activation_gradients
from transferlab.explainers.image_figures import overlay_grid
from transferlab.explainers.samples import sample_test_images
from transferlab.explainers.settings import GradCAMSettings

KEY = "explainer.gradcam"


def class_score_weights(n_outputs: int, classes: np.ndarray) -> np.ndarray:
    """Output weights per row whose weighted sum is the score of `classes[i]` up to a constant:
    a one-hot on softmax outputs; +1 (p) or -1 (1 - p) on a single sigmoid unit."""
    if n_outputs == 1:
        return np.where(classes == 1, 1.0, -1.0).astype("float32")[:, None]
    return np.eye(n_outputs, dtype="float32")[classes]


def gradcam_maps(model, layer, inputs: dict, classes: np.ndarray) -> np.ndarray:
    """ReLU(sum_k alpha_k A_k) at the layer's resolution, (n, h, w), for class classes[i] of
    example i (named inputs); alpha_k = spatial mean of d score / d A_k. One batch for all examples."""
    weights = class_score_weights(model.output_shape[-1], classes)
    activations, grads = activation_gradients(model, inputs, layer, weights)
    alpha = grads.mean(axis=(1, 2))
    return np.maximum(np.einsum("nhwk,nk->nhw", activations, alpha), 0.0)


def upsampled(maps: np.ndarray, size: tuple[int, int]) -> np.ndarray:
    """Maps resized (bilinear) to `size` and scaled to 0..1 per image (all-zero maps stay zero)."""
    resized = keras.ops.convert_to_numpy(keras.ops.image.resize(maps[..., None], size, interpolation="bilinear"))[
        ..., 0
    ]
    peak = resized.max(axis=(1, 2), keepdims=True)
    return np.divide(resized, peak, out=np.zeros_like(resized), where=peak > 0)


class GradCAM(Explainer):
    """Grad-CAM of the predicted class on a seeded sample of correct and wrong test predictions.

    layer: a convolutional layer's name (searched through nested models), or None for the last one.
    alpha: the heatmap's opacity over the image (jet colormap, as seed 003).
    """

    settings = GradCAMSettings  # validated before anything is loaded (config_checks)

    def __init__(self, layer: str | None = None, n_images: int = 8, alpha: float = 0.5):
        self.layer, self.n_images, self.alpha = layer, n_images, alpha

    def target_layer(self, model: keras.Model):
        """The configured convolutional layer, or the last one; ConfigError when there is none."""
        convs = required_conv_layers(model, f"{KEY}.layer", self.layer or "auto", "Grad-CAM needs one")
        if self.layer is None:
            return convs[-1]
        named = [layer for layer in convs if layer.name == self.layer]
        if not named:
            raise ConfigError(
                f"{KEY}.layer",
                self.layer,
                f"not a convolutional layer of model {model.name}; its last ones: "
                + ", ".join(layer.name for layer in convs[-3:]),
            )
        return named[0]

    def check(self, data: PreparedData, model: keras.Model) -> None:
        image_input(data, "gradcam")
        self.target_layer(model)

    def explain(self, context: ExplainContext) -> Explanation:
        model = context.model
        layer = self.target_layer(model)
        sample = sample_test_images(model, context.data, self.n_images, context.seed)
        heatmaps = upsampled(gradcam_maps(model, layer, sample.inputs, sample.predicted), sample.images.shape[1:3])
        class_names = context.data.class_names
        figure = overlay_grid(
            sample.images,
            heatmaps,
            sample.titles(class_names),
            sample.correct,
            f"Grad-CAM of the predicted class, layer {layer.name} (true/pred (prob))",
            "jet",
            self.alpha,
        )
        return Explanation(sample.table(class_names).assign(layer=layer.name), {"gradcam.png": figure})
