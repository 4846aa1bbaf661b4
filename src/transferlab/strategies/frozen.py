"""Pretrained encoder frozen; only a new head is trained, on the adaptation pool."""
from transferlab.strategies.common import TrainedModel, fit_classifier, pretrained_encoder


def train_frozen(spec, data, settings_for, source) -> TrainedModel:
    base = pretrained_encoder(spec, data, source, settings_for, "frozen")
    base.encoder.trainable = False
    classifier = spec.build_classifier(data.input_shape, data.n_classes, encoder=base.encoder)
    stages = base.stage_metrics | {"frozen": fit_classifier(classifier, "frozen", data, settings_for)}
    return TrainedModel(classifier, base.encoder, stages)
