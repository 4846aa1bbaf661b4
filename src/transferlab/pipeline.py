"""One job end to end: config -> data -> strategy stages -> evaluation -> explanations -> MLflow.

Every step is one function; this module only wires them. Called by cli.run_hydra_job after Hydra
composed the config; importing it imports Keras, so the backend must already be chosen.
"""

import atexit
import logging
import shutil
import sys
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import keras
import mlflow
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from transferlab.checkpoints import JobCheckpoints, checkpoints_active
from transferlab.config_checks import check_batch_split, check_task, selected_explainers, stage_settings
from transferlab.data.prepared import PreparedData
from transferlab.distribution import Distribution, process_shard, start_distribution
from transferlab.evaluation.report import evaluate, metric_names
from transferlab.evaluation.settings import SubgroupSettings
from transferlab.evaluation.subgroups import subgroup_columns
from transferlab.evaluation.thresholds import threshold_grid
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.comparison import compare_explanations
from transferlab.interruption import JobInterrupted
from transferlab.job_inputs import JobInputs, load_job_inputs
from transferlab.memory import custom_gradients_dropped, memory_metrics, release_free_memory, rss_mb
from transferlab.models.base import ModelBuilder
from transferlab.resume import CHECKPOINT_TAG, resumable_run
from transferlab.runtime import configure_keras, seed_everything, use_compilation_cache
from transferlab.strategies.base import Strategy
from transferlab.strategies.text_sources import with_source_vocabularies
from transferlab.sweeps.resume import config_hash_tag
from transferlab.tracking.datasets import log_dataset
from transferlab.tracking.models import log_models
from transferlab.tracking.redaction import redact, redact_override
from transferlab.tracking.params import (
    flatten_config,
    hydra_job_tags,
    logged_config,
    run_name,
    source_version_tags,
)
from transferlab.tracking.runs import log_figure, log_table, run_location, tracked_run
from transferlab.tracking.stale_runs import end_stale_runs
from transferlab.tracking.store import require_proxied_artifacts, use_experiment
from transferlab.training import parameter_counts
from transferlab.validation import validate

logger = logging.getLogger(__name__)


def build(node: DictConfig, exclude=("name",), **kwargs):
    """hydra.utils.instantiate for group configs that also carry a display `name`. Resolved first:
    values may interpolate other sections (model.weights: ${paths.data_dir}/...)."""
    config = {key: value for key, value in OmegaConf.to_container(node, resolve=True).items() if key not in exclude}
    return instantiate(config, _convert_="all", **kwargs)


def build_strategy(node: DictConfig) -> Strategy:
    """The strategy with its options (source, rank, ...), validated; stages are trainer settings."""
    return build(node, exclude=("name", "stages"))


def build_model(node: DictConfig) -> ModelBuilder:
    """The model builder, which keeps its option name for error messages."""
    return build(node, exclude=())


def run_tags(
    cfg: DictConfig, builder: ModelBuilder, data: PreparedData, device: str, distribution: Distribution
) -> dict[str, str]:
    """The job run's tags, credentials redacted (a URI with a password, e.g. in a weights path),
    with the config hash a re-run of a sweep looks for to skip this config once it FINISHED, and
    the devices and processes training used (trainer.distribute)."""
    tags = {
        "initial_weights": builder.initial_weights,
        "dataset": cfg.dataset.name,
        "model": cfg.model.name,
        "strategy": cfg.strategy.name,
        "explainer": "+".join(selected_explainers(cfg.explainer)) or "none",
        "study": str(cfg.study),
        "data_fingerprint": data.fingerprint,
        "backend": keras.backend.backend(),
        "device": device,
        "distribute": distribution.kind,
        "devices": ",".join(distribution.devices),
        "processes": str(process_shard()[1]),
        "keras_version": keras.__version__,
        **hydra_job_tags(),
        **source_version_tags(),
        **config_hash_tag(cfg),
    }
    return {key: redact(value, key) for key, value in tags.items()}


def training_seconds(stage_metrics: dict[str, dict[str, float]]) -> dict[str, float]:
    """train_seconds over all stages; for runs that pretrained a base here, also the time of
    their own stages without that pretraining (adapt_train_seconds)."""
    seconds = {stage: metrics["train_seconds"] for stage, metrics in stage_metrics.items()}
    total = {"train_seconds": sum(seconds.values())}
    if "pretrain" in seconds:
        total |= {
            "base_train_seconds": seconds["pretrain"],
            "adapt_train_seconds": total["train_seconds"] - seconds["pretrain"],
        }
    return total


def log_config(cfg: DictConfig) -> None:
    """Params = the flattened resolved config; artifacts = the resolved YAML and the overrides; all
    with credentials redacted (tracking/redaction.py)."""
    from hydra.core.hydra_config import HydraConfig

    mlflow.log_params(flatten_config(cfg))
    mlflow.log_text(OmegaConf.to_yaml(logged_config(cfg)), "config/resolved.yaml")
    if HydraConfig.initialized():
        overrides = [redact_override(override) for override in HydraConfig.get().overrides.task]
        mlflow.log_text("\n".join(overrides), "config/overrides.txt")


def log_evaluation(evaluation) -> None:
    mlflow.log_metrics(evaluation.metrics)
    for name, table in evaluation.tables.items():
        log_table(table, f"evaluation/{name}")
    for name, text in evaluation.texts.items():
        mlflow.log_text(text, f"evaluation/{name}")
    for name, figure in evaluation.figures.items():
        log_figure(figure, f"evaluation/{name}")


def build_explainers(cfg: DictConfig, data: PreparedData, model: keras.Model) -> dict[str, Explainer]:
    """Each selected explainer, after its own check against the data and an untrained model of
    the run's architecture (e.g. Grad-CAM needs a convolutional layer)."""
    selected = selected_explainers(cfg.explainer)
    for name in cfg.explainer.keys() - selected.keys():
        print(
            f"note: explainer.{name}: settings ignored, {name} is not among the selected explainers "
            f"({', '.join(selected) or 'none'})",
            file=sys.stderr,
        )
    explainers = {name: instantiate(node) for name, node in selected.items()}
    for explainer in explainers.values():
        explainer.check(data, model)
    return explainers


def log_explanation(folder: str, explanation: Explanation) -> None:
    """An explanation's PNG figures, further CSV tables and text pages under `folder`; its metrics and
    tags; its global importance as importance.csv (feature, importance; the same for every explainer,
    which is what study reports read)."""
    if explanation.importance is not None:
        ranked = explanation.importance.sort_values(ascending=False)
        log_table(ranked.rename_axis("feature").reset_index(name="importance"), f"{folder}/importance.csv")
    for figure_name, figure in explanation.figures.items():
        log_figure(figure, f"{folder}/{figure_name}")
    for table_name, table in explanation.tables.items():
        log_table(table, f"{folder}/{table_name}")
    for text_name, text in explanation.texts.items():
        mlflow.log_text(text, f"{folder}/{text_name}")
    mlflow.log_metrics(explanation.metrics)
    mlflow.set_tags(explanation.tags)


def explain(explainers: dict[str, Explainer], context: ExplainContext) -> None:
    """Run each explainer and log its CSV table and the rest under explanations/<name>/; then the
    explanations checked against each other under explanations/comparison/."""
    explanations = {}
    for name, explainer in explainers.items():
        explanations[name] = explainer.explain(context)
        log_table(explanations[name].table, f"explanations/{name}/{name}.csv")
        log_explanation(f"explanations/{name}", explanations[name])
    comparison = compare_explanations(explanations, context)
    if comparison is not None:
        log_explanation("explanations/comparison", comparison)


@dataclass
class CheckedJob:
    """Everything a job needs once every check has passed, before its MLflow run exists."""

    experiment_id: str
    device: str
    distribution: Distribution
    data: PreparedData
    builder: ModelBuilder
    strategy: Strategy
    explainers: dict[str, Explainer]
    subgroups: SubgroupSettings
    memory_start_mb: float


def checked_job(cfg: DictConfig, inputs: JobInputs) -> CheckedJob:
    """Devices, backend, tracking store, strategy and model, then every check that needs them and the data."""
    distribution = start_distribution(cfg.trainer.distribute, cfg.trainer.cpu_devices)
    log_from_first_process_only(cfg, process_shard()[0])
    check_batch_split(cfg, distribution.replicas, distribution.devices)
    device = configure_keras(cfg.trainer.device, cfg.trainer.precision)
    use_compilation_cache(cfg.trainer.compilation_cache_dir)
    strategy = build_strategy(cfg.strategy)  # option errors before the tracking store is opened (or created)
    builder = strategy.starting_builder(build_model(cfg.model))
    experiment_id = use_experiment(cfg.tracking.uri, cfg.tracking.experiment, cfg.tracking.artifact_root)
    if cfg.tracking.server:
        require_proxied_artifacts(experiment_id)
    end_stale_runs()
    # With the backend and the tracking store set up, less the loaded data: memory growth above this
    # baseline is what the data and the training cost.
    memory_start_mb = rss_mb() - inputs.data_mb
    data = with_source_vocabularies(inputs.data, strategy.input_sources(inputs.data))
    builder.check(data.specs)
    explainers = build_explainers(cfg, data, strategy.check(builder, data))
    check_task(cfg, data.n_classes, metric_names(data.class_names, cfg.evaluation.betas))
    subgroups = validate(SubgroupSettings, cfg.evaluation.subgroups, "evaluation.subgroups")
    subgroup_columns(subgroups, data.test_attributes)
    return CheckedJob(
        experiment_id, device, distribution, data, builder, strategy, explainers, subgroups, memory_start_mb
    )


def log_from_first_process_only(cfg: DictConfig, process_index: int) -> None:
    """multi_worker: every process runs the whole job (its model calls are collective), but only
    process 0 logs to tracking.uri; the others log to a throwaway store, removed at their exit."""
    if process_index == 0:
        return
    folder = tempfile.mkdtemp(prefix=f"transferlab-process{process_index}-")
    atexit.register(shutil.rmtree, folder, True)
    OmegaConf.update(cfg, "tracking.uri", f"sqlite:///{folder}/mlflow.db")
    OmegaConf.update(cfg, "tracking.artifact_root", f"{folder}/mlruns")
    OmegaConf.update(cfg, "tracking.server", False)


@contextmanager
def interruption_described(checkpoints: JobCheckpoints):
    """A JobInterrupted leaving the block says which run it killed and where training was."""
    try:
        yield
    except JobInterrupted as interrupted:
        interrupted.run_id, interrupted.position = checkpoints.run_id, checkpoints.describe_position()
        raise


def job_checkpoints_for(resumed) -> JobCheckpoints:
    """The interrupted run's checkpoints when resuming, else the job's output dir's checkpoints/
    (each run then takes a subfolder named by its id: start_checkpoints)."""
    from hydra.core.hydra_config import HydraConfig

    if resumed is not None:
        return JobCheckpoints(Path(resumed.data.tags[CHECKPOINT_TAG]), resuming=True, run_id=resumed.info.run_id)
    output_dir = HydraConfig.get().runtime.output_dir if HydraConfig.initialized() else tempfile.mkdtemp()
    return JobCheckpoints(Path(output_dir) / "checkpoints")


def start_checkpoints(checkpoints: JobCheckpoints, run_id: str) -> None:
    """A new run's checkpoints go to checkpoints/<run id>, recorded on the run for resume."""
    if not checkpoints.resuming:
        checkpoints.root, checkpoints.run_id = checkpoints.root / run_id, run_id
        mlflow.set_tag(CHECKPOINT_TAG, str(checkpoints.root))


def log_run_inputs(cfg: DictConfig, data: PreparedData) -> None:
    """The resolved config, the dataset (MLflow's dataset input) and the split sizes."""
    log_config(cfg)
    examples = data.train.head(5)
    log_dataset(cfg.dataset.name, data.source, data.fingerprint, examples.inputs, examples.labels)
    mlflow.log_metrics(data.sizes() | {"data_mb": data.nbytes() / 2**20})


@custom_gradients_dropped()  # the job's traced steps are freed with its models
def run_job(cfg: DictConfig, inputs: JobInputs | None = None) -> float:
    """Train, evaluate, explain and log one configuration; return cfg.objective.metric. `inputs`:
    the data loaded before Keras was imported (the command line does that), else loaded here.

    config -> data -> checks (no run yet) -> strategy stages -> evaluation -> explanations -> models.
    """
    job = checked_job(cfg, inputs or load_job_inputs(cfg))
    resumed = resumable_run(cfg, job.experiment_id)
    # Seeded after the checks, which build a throwaway model: every arm then draws the same
    # initial weights for the same seed (the transfer arms' base equals the scratch arm's model).
    seed_everything(cfg.trainer.seed)
    name = run_name(cfg)
    checkpoints = job_checkpoints_for(resumed)
    with (
        interruption_described(checkpoints),
        checkpoints_active(checkpoints),
        tracked_run(
            name,
            run_tags(cfg, job.builder, job.data, job.device, job.distribution),
            experiment_id=job.experiment_id,
            run_id=checkpoints.run_id,
            system_metrics_s=cfg.tracking.system_metrics_interval_s if cfg.tracking.system_metrics else None,
        ) as run,
    ):
        start_checkpoints(checkpoints, run.info.run_id)
        logger.info(
            "MLflow run %s (%s) in experiment %s: %s",
            run.info.run_id,
            name,
            cfg.tracking.experiment,
            run_location(mlflow.get_tracking_uri(), job.experiment_id, run.info.run_id),
        )
        if resumed is None:
            log_run_inputs(cfg, job.data)
        else:
            logger.info("resuming run %s from %s", run.info.run_id, checkpoints.root)
        with job.distribution.scope():  # models built and trained there; evaluated and explained as usual
            trained = job.strategy.train(job.builder, job.data, lambda stage: stage_settings(cfg, stage))
        release_free_memory()
        grid = threshold_grid(**cfg.evaluation.threshold_grid)
        evaluation = evaluate(trained.deployable, job.data, cfg.evaluation.betas, grid, job.subgroups)
        evaluation.metrics |= (
            parameter_counts(trained.classifier) | training_seconds(trained.stage_metrics) | trained.metrics
        )
        log_evaluation(evaluation)
        release_free_memory()
        explain(job.explainers, ExplainContext(trained.deployable, job.data, grid, cfg.trainer.seed))
        if cfg.tracking.log_model:
            log_models(trained.deployable, trained.encoder, job.data, evaluation.tables.get("threshold_table.csv"))
        mlflow.log_metrics(memory_metrics(job.memory_start_mb))
    checkpoints.remove()  # the finished job's model is in MLflow
    keras.backend.clear_session()
    objective = float(evaluation.metrics[cfg.objective.metric])
    print(
        f"run {run.info.run_id} ({name}) finished: {cfg.objective.metric}={objective:.4f} "
        f"test_roc_auc={evaluation.metrics.get('test_roc_auc', float('nan')):.4f} "
        f"test_f1={evaluation.metrics['test_f1']:.4f}"
    )
    return objective
