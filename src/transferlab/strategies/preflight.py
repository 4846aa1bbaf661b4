"""Checks a strategy's settings against the model and data before any MLflow run is created."""
import keras
from omegaconf import DictConfig

from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.strategies.common import check_source, load_source_model, source_uri
from transferlab.strategies.finetune import check_unfreeze, trainable_body
from transferlab.strategies.lora import check_rank


def starting_spec(strategy: DictConfig, spec):
    """The model spec the strategy trains: strategy=scratch means random initial weights, also for
    a backbone configured with model.weights=imagenet or a file."""
    return spec.random_init() if strategy.name == "scratch" and spec.pretrained else spec


def check_input_kind(spec, model_name: str, data: PreparedData) -> None:
    """Table models need feature vectors, image models (height, width, channels) arrays."""
    kind = "images" if data.holds_images else "table"
    if spec.input_kind != kind:
        wanted = "cnn or a keras.applications backbone (vgg16, resnet50, mobilenet_v2, efficientnet_b0, mobilenet)" \
            if kind == "images" else "mlp, autoencoder or resnet_mlp"
        raise ConfigError("model", model_name, f"takes {spec.input_kind}, but the dataset holds {kind} of shape "
                                               f"{data.input_shape}; choose {wanted}")
    if hasattr(spec, "check"):
        spec.check(data.input_shape)


def preflight(strategy: DictConfig, spec, model_name: str, data: PreparedData) -> keras.Model:
    """Raise ConfigError for a model that does not fit the data, a missing base model, weights
    that do not load, an impossible LoRA rank or unfreeze count. Returns the classifier as the
    strategy starts from it (untrained head), for explainers' own checks; throw it away after."""
    check_input_kind(spec, model_name, data)
    source = strategy.get("source")
    lora = "rank" in strategy
    check_source(spec, source, strategy.name, needs_encoder=not lora)
    uri = source_uri(source, "keras_model" if lora else "encoder") if source is not None else None
    if lora:
        base = load_source_model(uri, data.input_shape) if uri else spec.build_classifier(data.input_shape, data.n_classes)
        check_rank(strategy.rank, base)
        return base
    encoder = load_source_model(uri, data.input_shape) if uri else spec.build_encoder(data.input_shape)
    if "unfreeze" in strategy:
        check_unfreeze(strategy.unfreeze, trainable_body(spec, encoder))
    return spec.build_classifier(data.input_shape, data.n_classes, encoder=encoder)
