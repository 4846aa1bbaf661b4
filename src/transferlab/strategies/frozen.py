"""Pretrained encoder frozen; only the new head is trained."""
from transferlab.strategies.common import TrainedModel, fit_classifier, pretrained_encoder


def train_frozen(spec, data, settings_for, source) -> TrainedModel:
    encoder, stages = pretrained_encoder(spec, data, source, settings_for, "frozen")
    encoder.trainable = False
    classifier = spec.build_classifier(data.x_train.shape[1], data.table.n_classes, encoder=encoder)
    stages["frozen"] = fit_classifier(classifier, "frozen", data, settings_for)
    return TrainedModel(classifier, encoder, stages)
