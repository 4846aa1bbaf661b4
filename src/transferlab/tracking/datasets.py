"""The data a run trained on, as an MLflow dataset input (the UI's Dataset column and run page)."""

import warnings

import mlflow
import numpy as np

from transferlab.tracking.store import INSERTED_MEANWHILE, LOCKED, retry_locked

# MLflow stores a dataset digest in 36 characters; the full fingerprint stays in the run's
# data_fingerprint tag.
MAX_DIGEST_LENGTH = 36


def dataset_source(source: str):
    """MLflow's source for `source`: an HTTP source for URLs, a local one for a file path (or the
    loader that made the data), a plain record of the text when MLflow resolves neither."""
    from mlflow.data.code_dataset_source import CodeDatasetSource
    from mlflow.data.dataset_source_registry import resolve_dataset_source
    from mlflow.exceptions import MlflowException

    with warnings.catch_warnings():  # "can be interpreted in multiple ways": two local sources registered
        warnings.simplefilter("ignore")
        try:
            return resolve_dataset_source(source)
        except MlflowException:
            return CodeDatasetSource({"source": source})


def log_dataset(
    name: str, source: str, digest: str, inputs: dict[str, np.ndarray], labels: np.ndarray, context: str = "training"
) -> None:
    """Log the active run's `context` dataset: `name`, where it came from (`source`), `digest` (the
    data fingerprint) and its schema, taken from `inputs` (input name -> a few example rows) and
    `labels` (their labels). Only the schema and these identifiers are stored, not the rows."""
    dataset = mlflow.data.from_numpy(
        dict(inputs),
        source=dataset_source(source),
        targets=np.asarray(labels),
        name=name,
        digest=digest[:MAX_DIGEST_LENGTH],
    )
    # Parallel jobs of a sweep log the same dataset into one experiment at the same moment.
    retry_locked(lambda: mlflow.log_input(dataset, context=context), transient=LOCKED + INSERTED_MEANWHILE)
