"""Validate a composed config before anything is loaded, trained or logged."""
import re

from omegaconf import DictConfig, OmegaConf

from transferlab.conf_options import group_options
from transferlab.errors import ConfigError
from transferlab.runtime import BACKENDS, DEVICES, PRECISIONS

OPTIMIZERS = ("adam", "adamw", "sgd", "rmsprop", "nadam", "adagrad")
SCORINGS = ("roc_auc", "pr_auc", "accuracy", "balanced_accuracy", "log_loss")
OBJECTIVE_PREFIXES = ("val_", "test_", "oracle_test_", "threshold_")


def check_positive(key: str, value, kind=float) -> None:
    """ConfigError unless value is a positive number (kind=int: a positive integer)."""
    if not isinstance(value, (int, float)) or isinstance(value, bool) or value <= 0 or (kind is int and value != int(value)):
        raise ConfigError(key, value, f"must be a positive {'integer' if kind is int else 'number'}")


def _one_of(key: str, value, allowed) -> None:
    if value not in allowed:
        raise ConfigError(key, value, "allowed: " + ", ".join(str(a) for a in allowed))


def check_fraction(key: str, value, reason: str = "") -> None:
    """ConfigError unless value is a number strictly between 0 and 1 (`reason` is appended)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < 1:
        raise ConfigError(key, value, f"must be a fraction in (0, 1){reason}")


def check_trainer(trainer: DictConfig, key: str = "trainer") -> None:
    """Training settings: positive sizes and rates, known names."""
    _one_of(f"{key}.backend", trainer.backend, BACKENDS)
    _one_of(f"{key}.device", trainer.device, DEVICES)
    _one_of(f"{key}.precision", trainer.precision, PRECISIONS)
    _one_of(f"{key}.optimizer", trainer.optimizer, OPTIMIZERS)
    _one_of(f"{key}.class_weight", trainer.class_weight, ("balanced", None))
    check_positive(f"{key}.epochs", trainer.epochs, int)
    check_positive(f"{key}.batch_size", trainer.batch_size, int)
    check_positive(f"{key}.learning_rate", trainer.learning_rate)
    _one_of(f"{key}.jit_compile", trainer.jit_compile, ("auto", True, False))
    _one_of(f"{key}.feed", trainer.feed, ("auto", "arrays", "batches"))
    if trainer.steps_per_execution != "auto":
        check_positive(f"{key}.steps_per_execution", trainer.steps_per_execution, int)
    cache_dir = trainer.compilation_cache_dir
    if cache_dir is not None and (not isinstance(cache_dir, str) or not cache_dir.strip()):
        raise ConfigError(f"{key}.compilation_cache_dir", cache_dir, "must be a folder path or null")
    patience = trainer.early_stopping.patience
    if not isinstance(patience, int) or patience < 0:
        raise ConfigError(f"{key}.early_stopping.patience", patience, "must be an integer >= 0")


def stage_settings(cfg: DictConfig, stage: str) -> DictConfig:
    """Trainer settings for one stage: trainer defaults merged with strategy.stages.<stage>."""
    overrides = cfg.strategy.stages.get(stage) or {}
    unknown = set(overrides) - set(cfg.trainer)
    if unknown:
        raise ConfigError(f"strategy.stages.{stage}", sorted(unknown)[0], "not a trainer setting; allowed: " + ", ".join(cfg.trainer))
    return OmegaConf.merge(cfg.trainer, overrides)


def selected_explainers(explainer: DictConfig) -> dict[str, DictConfig]:
    """The explainers the `explainer` choice selects, by name. A node without `_target_` holds
    settings only: an experiment's tuning of an explainer this run does not select
    (`experiment=higgs_lora explainer=none`), for the caller to ignore."""
    return {name: node for name, node in explainer.items() if "_target_" in node}


def check_explainers(explainer: DictConfig) -> None:
    """Explainer settings that would otherwise fail only after training; a settings node whose
    name is no explainer (a typo in an experiment file) is an error."""
    known = [name for name in group_options()["explainer"] if name != "none"]
    selected = selected_explainers(explainer)
    for name in explainer.keys() - selected.keys():
        if name not in known:
            raise ConfigError("explainer", name, "not an explainer; choose one of " + ", ".join(known))
    permutation = selected.get("permutation")
    if permutation is not None:
        scoring = permutation.scoring
        if not (scoring in SCORINGS or re.fullmatch(r"f\d+(\.\d+)?", str(scoring))):
            raise ConfigError("explainer.permutation.scoring", scoring, "allowed: f<beta> (e.g. f2), " + ", ".join(SCORINGS))
        check_positive("explainer.permutation.n_repeats", permutation.n_repeats, int)
        if permutation.get("max_samples") is not None:
            check_positive("explainer.permutation.max_samples", permutation.max_samples)
    ig = selected.get("integrated_gradients")
    if ig is not None:
        check_positive("explainer.integrated_gradients.steps", ig.steps, int)
        check_positive("explainer.integrated_gradients.chunk_rows", ig.chunk_rows, int)
    shap_cfg = selected.get("shap")
    if shap_cfg is not None:
        check_positive("explainer.shap.background_rows", shap_cfg.background_rows, int)
        check_positive("explainer.shap.max_rows", shap_cfg.max_rows, int)


def check_split(split: DictConfig) -> None:
    """Random splits give fractions; ordered splits (HIGGS) give row counts."""
    for key in ("test_size", "val_size", "val_fraction"):
        if key in split:
            check_fraction(f"dataset.split.{key}", split[key])
    for key in ("n_train", "n_test"):
        if key in split:
            check_positive(f"dataset.split.{key}", split[key], int)
    extra = split.get("n_extra")
    if extra is not None and (not isinstance(extra, int) or isinstance(extra, bool) or extra < 0):
        raise ConfigError("dataset.split.n_extra", extra, "must be null (all rows between train and test) or an integer >= 0")


def check_config(cfg: DictConfig) -> None:
    """Raise ConfigError naming the first bad key; silent when the config can run."""
    check_trainer(cfg.trainer)
    for stage in cfg.strategy.stages:
        check_trainer(stage_settings(cfg, stage), key=f"strategy.stages.{stage}")
    check_split(cfg.dataset.split)
    if "rank" in cfg.strategy:   # the upper bound needs the model: strategies.preflight
        check_positive("strategy.rank", cfg.strategy.rank, int)
        check_positive("strategy.alpha", cfg.strategy.alpha)
    for beta in cfg.evaluation.betas:
        check_positive("evaluation.betas", beta)
    grid = cfg.evaluation.threshold_grid
    if not 0 <= grid.start < grid.stop <= 1:
        raise ConfigError("evaluation.threshold_grid", f"{grid.start}..{grid.stop}", "need 0 <= start < stop <= 1")
    check_positive("evaluation.threshold_grid.num", grid.num, int)
    check_explainers(cfg.explainer)
    _one_of("objective.direction", cfg.objective.direction, ("maximize", "minimize"))
    if not str(cfg.objective.metric).startswith(OBJECTIVE_PREFIXES):  # exact names: check_task
        raise ConfigError("objective.metric", cfg.objective.metric, "must be a logged val_*/test_* metric, e.g. val_roc_auc, val_f2")


def check_task(cfg: DictConfig, n_classes: int, logged_metrics: list[str]) -> None:
    """Checks that need the loaded data: the objective must be logged, F-beta needs two classes."""
    if cfg.objective.metric not in logged_metrics:
        raise ConfigError("objective.metric", cfg.objective.metric, "not logged for this task; choose one of " + ", ".join(logged_metrics))
    permutation = selected_explainers(cfg.explainer).get("permutation")
    if permutation is not None and n_classes > 2 and str(permutation.scoring).startswith("f"):
        raise ConfigError("explainer.permutation.scoring", permutation.scoring, f"F-beta needs a binary target, this one has {n_classes} classes; "
                          "use " + ", ".join(SCORINGS))
