"""What a job needs before Keras starts: a tracking server that answers, and the loaded, checked data.

Done first because the backend's import takes 15-30 s: a missing file, a bad value in a CSV or a
server that is down is then reported in seconds (nothing here imports Keras).
"""

import logging
from dataclasses import dataclass

from hydra.utils import get_method
from omegaconf import DictConfig

from transferlab.data.loading import load_prepared
from transferlab.data.prepared import PreparedData
from transferlab.memory import release_free_memory, rss_mb
from transferlab.tracking.settings import is_server_uri

logger = logging.getLogger(__name__)


@dataclass
class JobInputs:
    """The job's data and the resident memory loading it added (left out of the job's memory
    baseline, which is taken later, once Keras is imported)."""

    data: PreparedData
    data_mb: float


def describe_data(name: str, data: PreparedData) -> str:
    sizes = ", ".join(f"{n:,} {split.removeprefix('n_')}" for split, n in data.sizes().items())
    return (
        f"data {name}: {sizes} rows; inputs {data.describe_inputs()}; "
        f"{data.n_classes} classes, {data.nbytes() / 2**20:.1f} MB"
    )


def load_job_inputs(cfg: DictConfig) -> JobInputs:
    """Check the tracking server (http URIs), then load and prepare the dataset."""
    if is_server_uri(cfg.tracking.uri):
        from transferlab.tracking.store import require_server  # imports MLflow (~1 s): only for a server

        require_server(cfg.tracking.uri)
    get_method(cfg.dataset.loader._target_)  # the loader's own imports are not the data's memory
    before_mb = rss_mb()
    data = load_prepared(cfg.dataset)
    logger.info(describe_data(cfg.dataset.name, data))
    release_free_memory()  # parse and scaling buffers, before training stacks on them
    return JobInputs(data, max(rss_mb() - before_mb, 0.0))
