"""Resume by re-running: a run is tagged with a hash of its resolved config, and a sweep job whose
config already has a FINISHED run in the experiment is skipped (tracking.skip_finished=false: never)."""

import hashlib
import json

import mlflow
from mlflow.entities import Run
from omegaconf import DictConfig, OmegaConf

from transferlab.tracking.store import retry_locked, use_experiment

CONFIG_HASH_TAG = "transferlab.config_hash"
# Where things are kept, shown, looked up or sampled, not what a run computes: left out of the hash so that
# another store, checkout, cache folder or console setting still finds the run.
NOT_HASHED = (
    "paths",
    "tracking.uri",
    "tracking.artifact_root",
    "tracking.skip_finished",
    "tracking.server",
    "tracking.system_metrics",
    "tracking.system_metrics_interval_s",
    "trainer.verbose",
    "trainer.compilation_cache_dir",
    "resume",  # continues an interrupted run of the same config (conf/config.yaml)
)


def config_hash(cfg: DictConfig) -> str:
    """sha256 of the resolved job config without the NOT_HASHED keys."""
    config = OmegaConf.to_container(cfg, resolve=True)
    for key in NOT_HASHED:
        *parents, name = key.split(".")
        node = config
        for parent in parents:
            node = node.get(parent) or {}
        node.pop(name, None)
    return hashlib.sha256(json.dumps(config, sort_keys=True, default=str).encode()).hexdigest()


def config_hash_tag(cfg: DictConfig) -> dict[str, str]:
    """The run tag that finished_run looks for."""
    return {CONFIG_HASH_TAG: config_hash(cfg)}


def finished_run(cfg: DictConfig) -> Run | None:
    """The latest FINISHED run of cfg's experiment with cfg's config hash; None when there is none
    or tracking.skip_finished is false."""
    if not cfg.tracking.skip_finished:
        return None
    experiment_id = use_experiment(cfg.tracking.uri, cfg.tracking.experiment, cfg.tracking.artifact_root)
    query = f"tags.`{CONFIG_HASH_TAG}` = '{config_hash(cfg)}' AND attributes.status = 'FINISHED'"
    runs = retry_locked(
        lambda: mlflow.MlflowClient().search_runs(
            [experiment_id], query, order_by=["attributes.start_time DESC"], max_results=1
        )
    )
    return runs[0] if runs else None
