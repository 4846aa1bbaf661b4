"""The default explainer: picks, from the data's inputs and the model, one that fits them."""

import keras

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.explainers.activations import conv_layers
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.gradcam import GradCAM
from transferlab.explainers.integrated_gradients import IntegratedGradients
from transferlab.explainers.lime_explainer import LimeExplainer
from transferlab.explainers.modality import ModalityContributions
from transferlab.explainers.permutation import PermutationImportance
from transferlab.explainers.settings import AutoSettings


def fitting_explainer(data: PreparedData, model: keras.Model) -> tuple[str, Explainer]:
    """(option name, explainer with its defaults): `modality` for several inputs, `gradcam` for
    images when the model has a convolutional layer, else `integrated_gradients`; `lime` for a text;
    `permutation` (scoring auto: F2 or macro-F1) for a table."""
    spec = data.single_input()
    if spec is None:
        return "modality", ModalityContributions()
    if spec.kind == InputKind.IMAGE:
        return ("gradcam", GradCAM()) if conv_layers(model) else ("integrated_gradients", IntegratedGradients())
    if spec.kind == InputKind.TEXT:
        return "lime", LimeExplainer()
    return "permutation", PermutationImportance()


class AutoExplainer(Explainer):
    """explainer=auto: `check` picks the explainer that fits the data and model (`choice`) and runs
    its check; `explain` returns its explanation, tagged `explainer.auto=<choice>`."""

    settings = AutoSettings  # validated before anything is loaded (config_checks)

    def __init__(self):
        self.choice: str | None = None
        self.chosen: Explainer | None = None

    def check(self, data: PreparedData, model: keras.Model) -> None:
        self.choice, self.chosen = fitting_explainer(data, model)
        self.chosen.check(data, model)

    def explain(self, context: ExplainContext) -> Explanation:
        explanation = self.chosen.explain(context)
        explanation.tags["explainer.auto"] = self.choice
        return explanation
