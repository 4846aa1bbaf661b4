"""Every weight of a pretrained model trained at a lower learning rate, on the adaptation pool.

A supervised base (model=resnet_mlp) is fine-tuned as it is, head included. An encoder-only base
(model=autoencoder, or a source run's encoder) first gets a new head trained on the frozen
encoder (stage "frozen"), so random head gradients do not wreck the pretrained features.
"""
from transferlab.strategies.common import TrainedModel, fit_classifier, pretrained_encoder


def train_finetune(spec, data, settings_for, source) -> TrainedModel:
    base = pretrained_encoder(spec, data, source, settings_for, "finetune")
    stages = dict(base.stage_metrics)
    classifier = base.classifier
    if classifier is None:
        base.encoder.trainable = False
        classifier = spec.build_classifier(data.input_shape, data.n_classes, encoder=base.encoder)
        stages["frozen"] = fit_classifier(classifier, "frozen", data, settings_for)
    base.encoder.trainable = True   # the encoder itself: setting the outer model's flag is a no-op while it is True
    stages["finetune"] = fit_classifier(classifier, "finetune", data, settings_for)
    return TrainedModel(classifier, base.encoder, stages)
