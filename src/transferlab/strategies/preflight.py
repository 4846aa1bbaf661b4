"""Checks a strategy's settings against the model and data before any MLflow run is created."""
from omegaconf import DictConfig

from transferlab.data.prepared import PreparedData
from transferlab.strategies.common import check_source, load_source_model, source_uri
from transferlab.strategies.lora import check_rank


def preflight(strategy: DictConfig, spec, data: PreparedData) -> None:
    """Raise ConfigError for a missing base model or an impossible LoRA rank."""
    source = strategy.get("source")
    if "rank" not in strategy:
        check_source(spec, source, strategy.name, needs_encoder=True)
        return
    check_source(spec, source, strategy.name, needs_encoder=False)
    uri = source_uri(source, "keras_model")
    base = load_source_model(uri, data.input_shape) if uri else spec.build_classifier(data.input_shape, data.n_classes)
    check_rank(strategy.rank, base)
