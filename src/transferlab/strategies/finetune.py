"""Pretrained weights trained further at a lower learning rate, on the adaptation pool.

A supervised base (model=resnet_mlp) is fine-tuned as it is, head included. An encoder-only base
(model=autoencoder, an ImageNet backbone, or a source run's encoder) first gets a new head trained
on the frozen encoder (stage "frozen"), so random head gradients do not wreck the pretrained
features. Then the last `unfreeze` layers of the backbone (all of the encoder by default) train
with the head; BatchNormalization layers stay frozen, i.e. in inference mode with their ImageNet
statistics, as Keras' transfer-learning guide recommends.
"""

import keras

from transferlab.errors import ConfigError
from transferlab.models.layers import all_layers
from transferlab.strategies.base import TrainedModel
from transferlab.strategies.common import (
    TransferStrategy,
    Source,
    fit_classifier,
    head_on_frozen_encoder,
    pretrained_encoder,
    source_option,
    starting_encoder,
)
from transferlab.validation import Settings, is_int, rule

# strategy.unfreeze: all, or the last N layers of the backbone (seed 004: 4).
Unfreeze = rule(lambda v: v == "all" or (is_int(v) and v > 0), "must be all or a positive integer")


def check_unfreeze(unfreeze, body: keras.Model, key: str = "strategy.unfreeze") -> None:
    """`all`, or a layer count from 1 to the number of layers of the body."""
    count = len(body.layers)
    if unfreeze != "all" and not 1 <= unfreeze <= count:
        raise ConfigError(
            key, unfreeze, f"must be all or an integer from 1 to {count}, the number of layers of {body.name}"
        )


def unfreeze_last(encoder: keras.Model, body: keras.Model, unfreeze, key: str = "strategy.unfreeze") -> None:
    """Make the last `unfreeze` layers of `body` trainable (seed 004: `base_model.layers[:-4]`
    frozen), everything else in the encoder frozen, and every BatchNormalization layer frozen."""
    check_unfreeze(unfreeze, body, key)
    encoder.trainable = True  # the encoder itself: setting the outer model's flag is a no-op while it is True
    if unfreeze != "all":
        for layer in body.layers[:-unfreeze]:
            layer.trainable = False
    for layer in all_layers(encoder):
        if isinstance(layer, keras.layers.BatchNormalization):
            layer.trainable = False


class Finetune(TransferStrategy):
    """Stages: "pretrain" (when the base is pretrained here), "frozen" (for an encoder-only base), "finetune"."""

    class Options(Settings):
        source: Source = source_option()
        unfreeze: Unfreeze = "all"

    def check(self, builder, data):
        encoder = starting_encoder(builder, data, self.options.source, "finetune")
        check_unfreeze(self.options.unfreeze, builder.backbone(encoder))
        return builder.build_classifier(data.specs, data.n_classes, encoder=encoder)

    def train(self, builder, data, settings_for) -> TrainedModel:
        base = pretrained_encoder(builder, data, self.options.source, settings_for, "finetune")
        if base.classifier is None:
            base = head_on_frozen_encoder(builder, data, base, settings_for)
        unfreeze_last(base.encoder, builder.backbone(base.encoder), self.options.unfreeze)
        stages = base.stage_metrics | {"finetune": fit_classifier(base.classifier, "finetune", data, settings_for)}
        return TrainedModel(base.classifier, base.encoder, stages)
