"""Everything trained from random initialisation, on the training split."""

from transferlab.strategies.base import Strategy, TrainedModel
from transferlab.strategies.common import train_supervised
from transferlab.validation import Settings


class Scratch(Strategy):
    """The whole classifier from random weights (stage "train"); a backbone configured with
    ImageNet weights or a weights file starts random too."""

    class Options(Settings):
        pass

    def starting_builder(self, builder):
        return builder.random_init()

    def check(self, builder, data):
        return builder.build_classifier(data.specs, data.n_classes, encoder=builder.build_encoder(data.specs))

    def train(self, builder, data, settings_for) -> TrainedModel:
        base = train_supervised(builder, data, settings_for, "train")
        return TrainedModel(base.classifier, base.encoder, base.stage_metrics)
