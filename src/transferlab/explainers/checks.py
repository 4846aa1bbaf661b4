"""Checks explainers run before any MLflow run exists (their `check(data, model)` methods)."""
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError

IMAGE_EXPLAINERS = "gradcam, integrated_gradients, shap, lime or feature_maps"
TABLE_EXPLAINERS = "permutation, integrated_gradients or shap"


def require_images(data: PreparedData, name: str) -> None:
    if not data.holds_images:
        raise ConfigError("explainer", name, f"works on images; for tables choose {TABLE_EXPLAINERS}")


def require_tables(data: PreparedData, name: str) -> None:
    if data.holds_images:
        raise ConfigError("explainer", name, f"works on tables; for images choose {IMAGE_EXPLAINERS}")
