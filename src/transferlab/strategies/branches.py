"""What early and late fusion share: one branch per dataset input (models/fusion.py), trained as
its own single-input classifier on the training split (stage `branch_<input>`), or loaded from an
earlier single-modality run's `keras_model` (`strategy.sources.<input>`). An ImageNet backbone
branch trains with its backbone frozen except its last `branch_unfreeze` layers (seed 002: 10).
"""

from typing import ClassVar

import mlflow
from pydantic import Field

from transferlab.data.inputs import InputSpec
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.models.base import ModelBuilder
from transferlab.models.fusion import Branch, Fusion, renamed
from transferlab.models.layers import output_units
from transferlab.strategies.base import SettingsFor, Strategy
from transferlab.strategies.common import ModelSource, check_run_exists, fit_classifier, load_source_model
from transferlab.strategies.finetune import unfreeze_last


def sources_option():
    """The `sources` field of a fusion strategy's Options: input name -> ModelSource."""
    return Field(default_factory=dict, strict=False)


def branch_stage(name: str) -> str:
    return f"branch_{name}"


def logged_class_names(run_id: str) -> list[str] | None:
    """The class names a run's logged `model` (pyfunc) predicts; None when it logged none."""
    try:
        info = mlflow.models.get_model_info(f"runs:/{run_id}/model")
    except (mlflow.exceptions.MlflowException, OSError):
        return None
    return info.flavors.get("python_function", {}).get("config", {}).get("class_names")


def check_source_classes(source: ModelSource, width: int, data: PreparedData, key: str) -> None:
    """ConfigError unless the source was trained on the dataset's class list (as its run logged it)
    and its network has the output width that class count needs."""
    expected = [str(name) for name in data.class_names]
    logged = logged_class_names(source.run_id) if source.run_id else None
    if logged is not None and [str(name) for name in logged] != expected:
        raise ConfigError(
            f"{key}.run_id",
            source.run_id,
            f"trained on classes [{', '.join(map(str, logged))}], the dataset has [{', '.join(expected)}]",
        )
    if width != output_units(data.n_classes):
        entry, value = (f"{key}.model_uri", source.model_uri) if source.model_uri else (f"{key}.run_id", source.run_id)
        raise ConfigError(
            entry,
            value,
            f"the model has {width} outputs; the dataset's {data.n_classes} classes "
            f"[{', '.join(expected)}] need {output_units(data.n_classes)}",
        )


class FusionStrategy(Strategy):
    """Base of early and late fusion: needs model=fusion; `Options` has `sources` (input name ->
    ModelSource) and `branch_unfreeze`."""

    name: ClassVar[str]

    def input_sources(self, data: PreparedData) -> dict[str, tuple[str, ModelSource]]:
        sources = self.options.sources.items()
        return {name: (f"strategy.sources.{name}", source) for name, source in sources if name in data.specs}

    def fusion_builder(self, builder: ModelBuilder) -> Fusion:
        if not isinstance(builder, Fusion):
            raise ConfigError(
                "strategy",
                self.name,
                f"needs model=fusion (one branch per input); model={builder.name} is not a fusion model",
            )
        return builder

    def loaded_branch(self, fusion: Fusion, spec: InputSpec, data: PreparedData) -> Branch:
        """The input's branch from its source run's `keras_model` (or model_uri), checked against the data."""
        key, source = f"strategy.sources.{spec.name}", self.options.sources[spec.name]
        if source.run_id:
            check_run_exists(source.run_id, f"{key}.run_id")
        uri = source.uri("keras_model")
        if uri is None:
            raise ConfigError(key, "none", "set its run_id or model_uri")
        model = load_source_model(uri, {spec.name: spec}, key)
        check_source_classes(source, model.output.shape[-1], data, key)
        return Branch(spec.name, fusion.branch_builder(spec), renamed(model, branch_stage(spec.name)), None)

    def fresh_branch(self, fusion: Fusion, spec: InputSpec, n_classes: int) -> Branch:
        """A new branch; a pretrained backbone trains only its last `branch_unfreeze` layers."""
        branch = fusion.build_branch(spec, n_classes)
        if branch.builder.pretrained:
            body = branch.builder.backbone(branch.encoder)
            unfreeze_last(branch.encoder, body, self.options.branch_unfreeze, "strategy.branch_unfreeze")
        return branch

    def starting_branches(self, builder: ModelBuilder, data: PreparedData) -> dict[str, Branch]:
        """Each input's branch as training starts: loaded from its source, else new (every check on the way)."""
        fusion = self.fusion_builder(builder)
        for name in self.options.sources:
            if name not in data.specs:
                raise ConfigError(
                    "strategy.sources", name, f"not an input of the dataset; inputs: {', '.join(data.specs)}"
                )
        return {
            name: self.loaded_branch(fusion, spec, data)
            if name in self.options.sources
            else self.fresh_branch(fusion, spec, data.n_classes)
            for name, spec in data.specs.items()
        }

    def trained_branches(
        self, builder: ModelBuilder, data: PreparedData, settings_for: SettingsFor
    ) -> tuple[dict[str, Branch], dict[str, dict[str, float]]]:
        """Each branch loaded, or trained alone on its input (stage `branch_<input>`); and the stages' metrics."""
        branches = self.starting_branches(builder, data)
        stages = {
            branch_stage(name): fit_classifier(
                branch.classifier, branch_stage(name), data.with_inputs([name]), settings_for, pool="train"
            )
            for name, branch in branches.items()
            if name not in self.options.sources
        }
        return branches, stages
