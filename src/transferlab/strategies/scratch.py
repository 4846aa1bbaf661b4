"""Everything trained from random initialisation, on the training split."""
from transferlab.strategies.common import TrainedModel, fit_classifier


def train_from_scratch(spec, data, settings_for, source=None) -> TrainedModel:
    encoder = spec.build_encoder(data.input_shape)
    classifier = spec.build_classifier(data.input_shape, data.n_classes, encoder=encoder)
    return TrainedModel(classifier, encoder, {"train": fit_classifier(classifier, "train", data, settings_for, pool="train")})
