"""Training strategies: one `strategies.base.Strategy` subclass per module, configured by
conf/strategy/<name>.yaml; its stages (pretrain, frozen, finetune, ...) each become an MLflow child run."""
