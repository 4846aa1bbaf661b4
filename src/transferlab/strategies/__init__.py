"""Training strategies. Each is `strategy(spec, data, settings_for, source) -> TrainedModel`;
its stages (pretrain, frozen, finetune, ...) each become an MLflow child run."""
