"""Checks explainers run before any MLflow run exists (their `check(data, model)` methods)."""

from transferlab.data.inputs import InputKind, InputSpec
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError

EXPLAINERS_FOR = {
    InputKind.IMAGE: "gradcam, integrated_gradients, shap, lime or feature_maps",
    InputKind.TABLE: "permutation, integrated_gradients or shap",
}


def explained_input(data: PreparedData, name: str, kinds: tuple[InputKind, ...]) -> InputSpec:
    """The dataset's one input, which must be of `kinds`; else a ConfigError naming the explainer.

    Explainers that perturb or differentiate one array (permutation, SHAP, LIME, IG, feature maps)
    explain single-input models; a model of several inputs needs a per-input explainer.
    """
    spec = data.single_input()
    if spec is None:
        raise ConfigError(
            "explainer",
            name,
            f"explains a model with one input; this dataset has {len(data.specs)}: {data.describe_inputs()}",
        )
    if spec.kind not in kinds:
        works_on = " or ".join("tables" if kind == InputKind.TABLE else f"{kind.value}s" for kind in kinds)
        other = f"; for {spec.kind.value}s choose {EXPLAINERS_FOR[spec.kind]}" if spec.kind in EXPLAINERS_FOR else ""
        raise ConfigError("explainer", name, f"works on {works_on}{other}")
    return spec


def image_input(data: PreparedData, name: str) -> InputSpec:
    """The dataset's one image input (other inputs may sit beside it); else a ConfigError."""
    images = data.inputs_of_kind(InputKind.IMAGE)
    if not images:
        other = f"; for tables choose {EXPLAINERS_FOR[InputKind.TABLE]}" if data.inputs_of_kind(InputKind.TABLE) else ""
        raise ConfigError("explainer", name, f"works on images{other}")
    if len(images) > 1:
        raise ConfigError("explainer", name, f"explains one image input; this dataset has {data.describe_inputs()}")
    return images[0]
