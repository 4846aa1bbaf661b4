"""Early fusion (seed 002, milestone 4): the branches' feature layers concatenated under one head.

branches=joint trains everything together from random weights (stage "fusion"). branches=pretrained
first trains each branch alone as its own classifier (stage `branch_<input>`, or loads it from
`sources.<input>`), then trains the head on the frozen branches (stage "fusion");
finetune_branches=true trains the branches with the head instead, at the fusion stage's learning rate
(as seed 002 does), each with the layers its own stage or source run trained (a backbone's frozen
layers stay frozen).
"""

from typing import Literal

from transferlab.errors import ConfigError
from transferlab.models.fusion import Branch
from transferlab.strategies.base import TrainedModel
from transferlab.strategies.branches import FusionStrategy, sources_option
from transferlab.strategies.common import ModelSource, fit_classifier
from transferlab.strategies.finetune import Unfreeze
from transferlab.validation import Settings


class EarlyFusion(FusionStrategy):
    """Stages: "fusion" (joint); `branch_<input>` for each input without a source, then "fusion" (pretrained)."""

    name = "early_fusion"

    class Options(Settings):
        branches: Literal["joint", "pretrained"] = "pretrained"
        finetune_branches: bool = False
        sources: dict[str, ModelSource] = sources_option()
        branch_unfreeze: Unfreeze = 10

    def __init__(self, **options):
        super().__init__(**options)
        if self.options.branches == "joint" and self.options.sources:
            raise ConfigError(
                "strategy.sources",
                ",".join(self.options.sources),
                "needs strategy.branches=pretrained (joint trains every branch from random weights)",
            )

    def fused_classifier(self, builder, data, branches: dict[str, Branch]):
        """The fusion model's head on the concatenated feature layers of `branches`; and that encoder."""
        fusion = self.fusion_builder(builder)
        encoder = fusion.fused_encoder(data.specs, {name: branch.features() for name, branch in branches.items()})
        return fusion.build_classifier(data.specs, data.n_classes, encoder=encoder), encoder

    def check(self, builder, data):
        return self.fused_classifier(builder, data, self.starting_branches(builder, data))[0]

    def train(self, builder, data, settings_for) -> TrainedModel:
        if self.options.branches == "joint":
            branches, stages = self.starting_branches(builder, data), {}
        else:
            branches, stages = self.trained_branches(builder, data, settings_for)
            if not self.options.finetune_branches:
                for branch in branches.values():
                    branch.classifier.trainable = False  # (setting True would unfreeze a backbone's frozen layers)
        classifier, encoder = self.fused_classifier(builder, data, branches)
        stages |= {"fusion": fit_classifier(classifier, "fusion", data, settings_for, pool="train")}
        return TrainedModel(classifier, encoder, stages)
