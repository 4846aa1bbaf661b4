"""Pretrained encoder frozen; only a new head is trained, on the adaptation pool."""
from transferlab.strategies.common import TrainedModel, head_on_frozen_encoder, pretrained_encoder


def train_frozen(spec, data, settings_for, source) -> TrainedModel:
    base = head_on_frozen_encoder(spec, data, pretrained_encoder(spec, data, source, settings_for, "frozen"), settings_for)
    return TrainedModel(base.classifier, base.encoder, base.stage_metrics)
