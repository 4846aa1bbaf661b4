"""Validate a composed config before anything is loaded, trained or logged.

Glue only: each component's settings model lives beside the component (trainer_settings.py,
evaluation/settings.py, data/split_settings.py, explainers/settings.py, tracking/settings.py) and
is applied here to its part of the config. Checks that need the data or a built model are the components' own check()
methods, and `check_task` below.
"""

from omegaconf import DictConfig, OmegaConf

from transferlab.conf_options import group_options, offers
from transferlab.data.split_settings import split_settings_for
from transferlab.errors import ConfigError
from transferlab.evaluation.settings import EvaluationSettings, ObjectiveSettings, check_objective_logged
from transferlab.explainers.settings import EXPLAINER_SETTINGS
from transferlab.tracking.settings import check_tracking
from transferlab.trainer_settings import check_trainer
from transferlab.validation import validate


def check_positive(key: str, value, kind=float) -> None:
    """ConfigError unless value is a positive number (kind=int: a positive integer)."""
    if (
        not isinstance(value, (int, float))
        or isinstance(value, bool)
        or value <= 0
        or (kind is int and value != int(value))
    ):
        raise ConfigError(key, value, f"must be a positive {'integer' if kind is int else 'number'}")


def check_fraction(key: str, value, reason: str = "") -> None:
    """ConfigError unless value is a number strictly between 0 and 1 (`reason` is appended)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(key, value, f"must be a fraction in (0, 1){reason}")


def stage_settings(cfg: DictConfig, stage: str) -> DictConfig:
    """Trainer settings for one stage: trainer defaults merged with strategy.stages.<stage>."""
    overrides = cfg.strategy.stages.get(stage) or {}
    unknown = set(overrides) - set(cfg.trainer)
    if unknown:
        raise ConfigError(
            f"strategy.stages.{stage}", sorted(unknown)[0], "not a trainer setting; allowed: " + ", ".join(cfg.trainer)
        )
    return OmegaConf.merge(cfg.trainer, overrides)


def selected_explainers(explainer: DictConfig) -> dict[str, DictConfig]:
    """The explainers the `explainer` choice selects, by name. A node without `_target_` holds
    settings only: an experiment's tuning of an explainer this run does not select
    (`experiment=higgs_lora explainer=none`), for the caller to ignore."""
    return {name: node for name, node in explainer.items() if "_target_" in node}


def check_explainers(explainer: DictConfig) -> None:
    """Each selected explainer's settings (its model in explainers/settings.py); a settings node
    whose name is no explainer (a typo in an experiment file) is an error."""
    selected = selected_explainers(explainer)
    for name in explainer.keys() - selected.keys():
        if not offers("explainer", name) or name == "none":
            known = [name for name in group_options()["explainer"] if name != "none"]
            raise ConfigError("explainer", name, "not an explainer; choose one of " + ", ".join(known))
    for name, node in selected.items():
        if name in EXPLAINER_SETTINGS:
            settings = {
                key: value for key, value in OmegaConf.to_container(node, resolve=True).items() if key != "_target_"
            }
            validate(EXPLAINER_SETTINGS[name], settings, f"explainer.{name}")


def check_split(dataset: DictConfig) -> None:
    """dataset.split against the split model of the kind of source the dataset's loader returns."""
    validate(split_settings_for(dataset.loader._target_, dataset.split.keys()), dataset.split, "dataset.split")


def check_config(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first bad key; silent when the config can run."""
    check_trainer(cfg.trainer)
    for stage in cfg.strategy.stages:
        check_trainer(stage_settings(cfg, stage), f"strategy.stages.{stage}")
    check_split(cfg.dataset)
    validate(EvaluationSettings, cfg.evaluation, "evaluation")
    check_explainers(cfg.explainer)
    validate(ObjectiveSettings, cfg.objective, "objective")
    check_tracking(cfg.tracking)


def check_task(cfg: DictConfig, n_classes: int, logged_metrics: list[str]) -> None:
    """Checks that need the loaded data: the objective must be logged for the task."""
    check_objective_logged(cfg.objective.metric, logged_metrics)


def check_batch_split(cfg: DictConfig, replicas: int, devices: tuple[str, ...]) -> None:
    """trainer.distribute: each batch size (the trainer's, then each stage's) must split evenly
    across the `replicas` devices."""
    sizes = [("trainer.batch_size", cfg.trainer.batch_size)] + [
        (f"strategy.stages.{stage}.batch_size", stage_settings(cfg, stage).batch_size) for stage in cfg.strategy.stages
    ]
    for key, size in sizes:
        if size % replicas:
            raise ConfigError(
                key,
                size,
                f"must be divisible by the device count, {replicas} "
                f"(trainer.distribute={cfg.trainer.distribute} splits each batch across {', '.join(devices)})",
            )
