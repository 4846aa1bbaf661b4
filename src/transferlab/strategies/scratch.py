"""Everything trained from random initialisation."""
from transferlab.strategies.common import TrainedModel, fit_classifier


def train_from_scratch(spec, data, settings_for, source=None) -> TrainedModel:
    input_dim = data.x_train.shape[1]
    encoder = spec.build_encoder(input_dim)
    classifier = spec.build_classifier(input_dim, data.table.n_classes, encoder=encoder)
    return TrainedModel(classifier, encoder, {"train": fit_classifier(classifier, "train", data, settings_for)})
