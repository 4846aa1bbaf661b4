"""A model transferred from an earlier run reads text through that run's vocabulary: its token
features mean nothing under another. The vocabulary travels in the run's logged `model` (the fitted
pipeline the raw-row model applies), so a source must be a run, not a bare model file."""

import logging

import mlflow

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError, first_line
from transferlab.strategies.common import ModelSource

logger = logging.getLogger(__name__)


def source_vocabulary(run_id: str, name: str, key: str):
    """The fitted vocabulary pipeline of the source run's text input `name` (or of its only one)."""
    try:
        logged = mlflow.pyfunc.load_model(f"runs:/{run_id}/model").unwrap_python_model()
    except Exception as err:  # MLflow raises several types for a missing run or model
        raise ConfigError(key, run_id, f"could not load the run's logged model ({first_line(err)[:200]})") from err
    texts = {input_name: logged.preprocessors[input_name] for input_name in logged.config.get("text_inputs", {})}
    if name in texts or len(texts) == 1:
        return texts.get(name) or next(iter(texts.values()))
    found = ", ".join(texts) or "none"
    raise ConfigError(
        key, run_id, f"the run's model has no vocabulary for text input {name!r} (its text inputs: {found})"
    )


def with_source_vocabularies(data: PreparedData, sources: dict[str, tuple[str, ModelSource]]) -> PreparedData:
    """`data` with each text input whose network comes from an earlier run encoded by that run's vocabulary."""
    for name, (key, source) in sources.items():
        if data.specs[name].kind != InputKind.TEXT:
            continue
        if not source.run_id:
            raise ConfigError(
                f"{key}.model_uri",
                source.model_uri,
                "a text model's vocabulary is logged with its run; set run_id instead",
            )
        data = data.with_text_pipeline(name, source_vocabulary(source.run_id, name, f"{key}.run_id"))
        logger.info(
            "text input %s: the vocabulary of run %s (%d tokens)", name, source.run_id, data.specs[name].shape[0]
        )
    return data
