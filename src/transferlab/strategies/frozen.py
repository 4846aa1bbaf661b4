"""Pretrained encoder frozen; only a new head is trained, on the adaptation pool."""

from transferlab.strategies.base import TrainedModel
from transferlab.strategies.common import (
    TransferStrategy,
    Source,
    head_on_frozen_encoder,
    pretrained_encoder,
    source_option,
    starting_encoder,
)
from transferlab.validation import Settings


class Frozen(TransferStrategy):
    """Stages: "pretrain" (unless the encoder comes from a source run or pretrained weights), "frozen"."""

    class Options(Settings):
        source: Source = source_option()

    def check(self, builder, data):
        encoder = starting_encoder(builder, data, self.options.source, "frozen")
        return builder.build_classifier(data.specs, data.n_classes, encoder=encoder)

    def train(self, builder, data, settings_for) -> TrainedModel:
        base = pretrained_encoder(builder, data, self.options.source, settings_for, "frozen")
        base = head_on_frozen_encoder(builder, data, base, settings_for)
        return TrainedModel(base.classifier, base.encoder, base.stage_metrics)
