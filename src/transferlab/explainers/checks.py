"""Checks explainers run before any MLflow run exists (their `check(data, model)` methods)."""

from transferlab.data.inputs import InputKind, InputSpec
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError

EXPLAINERS_FOR = {
    InputKind.IMAGE: "gradcam, integrated_gradients, shap, lime or feature_maps",
    InputKind.TABLE: "permutation, integrated_gradients or shap",
    InputKind.TEXT: "lime or shap",
}


def only_input(data: PreparedData, explainer: str, kinds: tuple[InputKind, ...]) -> InputSpec:
    """The dataset's one input, of `kinds`; else a ConfigError naming the explainer. For explainers
    that call the model with that input alone (LIME)."""
    spec = data.single_input()
    if spec is None:
        raise ConfigError(
            "explainer",
            explainer,
            f"explains a model with one input; this dataset has {len(data.specs)}: {data.describe_inputs()}",
        )
    return of_kind(spec, explainer, kinds)


def explained_input(data: PreparedData, explainer: str, kinds: tuple[InputKind, ...], chosen=None) -> InputSpec:
    """The input an explainer perturbs or differentiates while the model's other inputs keep each
    row's values: `chosen` (explainer.<name>.input), else the dataset's one input, else its one table
    input; it must be of `kinds`. ConfigErrors name the setting to change."""
    key = f"explainer.{explainer}.input"
    tables = data.inputs_of_kind(InputKind.TABLE)
    if chosen is not None:
        if chosen not in data.specs:
            raise ConfigError(key, chosen, f"not an input of this dataset; its inputs: {data.describe_inputs()}")
        spec = data.specs[chosen]
        if spec.kind not in kinds:
            raise ConfigError(key, chosen, f"input of kind {spec.kind.value}; {explainer} explains {works_on(kinds)}")
        return spec
    if len(data.specs) > 1 and len(tables) != 1:
        raise ConfigError(key, "null", f"choose the input to explain, one of: {data.describe_inputs()}")
    return of_kind(data.single_input() or tables[0], explainer, kinds)


def works_on(kinds: tuple[InputKind, ...]) -> str:
    """E.g. `tables or images`."""
    return " or ".join(f"{kind.value}s" for kind in kinds)


def of_kind(spec: InputSpec, explainer: str, kinds: tuple[InputKind, ...]) -> InputSpec:
    """`spec` when it is of `kinds`; else a ConfigError suggesting the explainers for its kind."""
    if spec.kind not in kinds:
        other = f"; for {spec.kind.value}s choose {EXPLAINERS_FOR[spec.kind]}" if spec.kind in EXPLAINERS_FOR else ""
        raise ConfigError("explainer", explainer, f"works on {works_on(kinds)}{other}")
    return spec


def image_input(data: PreparedData, name: str) -> InputSpec:
    """The dataset's one image input (other inputs may sit beside it); else a ConfigError."""
    images = data.inputs_of_kind(InputKind.IMAGE)
    if not images:
        others = [kind for kind in (InputKind.TABLE, InputKind.TEXT) if data.inputs_of_kind(kind)]
        suggestions = "".join(f"; for {kind.value}s choose {EXPLAINERS_FOR[kind]}" for kind in others)
        raise ConfigError("explainer", name, f"works on images{suggestions}")
    if len(images) > 1:
        raise ConfigError("explainer", name, f"explains one image input; this dataset has {data.describe_inputs()}")
    return images[0]


def settings_fit_input(explainer, name: str, spec: InputSpec, kinds_of: dict[str, tuple[InputKind, ...]]) -> None:
    """ConfigError naming the first of the explainer's settings in `kinds_of` (setting -> the input
    kinds it applies to) that differs from its default, a default-built explainer's, while the
    explained input `spec` is of another kind: e.g. an image setting given for text data."""
    defaults = type(explainer)()
    for key, kinds in kinds_of.items():
        value = getattr(explainer, key)
        if spec.kind not in kinds and value != getattr(defaults, key):
            raise ConfigError(
                f"explainer.{name}.{key}",
                "null" if value is None else value,
                f"a setting for {works_on(kinds)}; the explained input is {spec.describe()}",
            )
