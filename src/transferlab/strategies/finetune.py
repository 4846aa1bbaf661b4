"""The frozen stage, then the whole network unfrozen and trained at a lower learning rate."""
from transferlab.strategies.common import fit_classifier
from transferlab.strategies.frozen import train_frozen


def train_finetune(spec, data, settings_for, source):
    trained = train_frozen(spec, data, settings_for, source)
    trained.encoder.trainable = True
    trained.stage_metrics["finetune"] = fit_classifier(trained.classifier, "finetune", data, settings_for)
    return trained
