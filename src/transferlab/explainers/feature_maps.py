"""Feature maps of the first convolutional layers for one test image (seed 004, section 8)."""

import keras
import pandas as pd

from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.activations import layer_outputs, required_conv_layers
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import image_input
from transferlab.explainers.image_figures import feature_map_grid
from transferlab.explainers.settings import FeatureMapsSettings

KEY = "explainer.feature_maps"


class FeatureMaps(Explainer):
    """Activations of the first `k` convolutional layers (searched through nested models) for test
    image `index`, the first `max_channels` channels of each."""

    settings = FeatureMapsSettings  # validated before anything is loaded (config_checks)

    def __init__(self, k: int = 4, max_channels: int = 8, index: int = 0):
        self.k, self.max_channels, self.index = k, max_channels, index

    def layers(self, model: keras.Model) -> list:
        return required_conv_layers(model, "explainer", "feature_maps", "feature maps need one")[: self.k]

    def check(self, data: PreparedData, model: keras.Model) -> None:
        image_input(data, "feature_maps")
        n_test = data.test.n_rows
        if not self.index < n_test:
            raise ConfigError(f"{KEY}.index", self.index, f"must be a test image index, 0..{n_test - 1}")
        self.layers(model)

    def explain(self, context: ExplainContext) -> Explanation:
        data, layers = context.data, self.layers(context.model)
        example = data.test.take([self.index])
        image = example.inputs[image_input(data, "feature_maps").name][0]
        activations, _ = layer_outputs(context.model, example.inputs, layers)
        maps = {layer.name: activation[0] for layer, activation in zip(layers, activations)}
        probabilities = class_probabilities(context.model, example.inputs)[0]
        predicted = int(probabilities.argmax())
        title = (
            f"Feature maps, test image {self.index}: true {data.class_names[example.labels[0]]}, "
            f"predicted {data.class_names[predicted]} ({probabilities[predicted]:.2f})"
        )
        table = pd.DataFrame(
            {
                "layer": list(maps),
                "height": [m.shape[0] for m in maps.values()],
                "width": [m.shape[1] for m in maps.values()],
                "channels": [m.shape[2] for m in maps.values()],
                "mean_activation": [float(m.mean()) for m in maps.values()],
                "zero_fraction": [float((m == 0).mean()) for m in maps.values()],
            }
        )
        return Explanation(table, {"feature_maps.png": feature_map_grid(image, maps, self.max_channels, title)})
