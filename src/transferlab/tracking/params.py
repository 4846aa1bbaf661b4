"""What identifies a run: flattened config params, tags, provenance."""

import sys
from pathlib import Path

from mlflow.utils.mlflow_tags import MLFLOW_GIT_COMMIT
from omegaconf import DictConfig, OmegaConf

from transferlab import PROJECT_ROOT
from transferlab.tracking.redaction import redact

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value


def logged_config(cfg: DictConfig) -> dict:
    """The resolved config as plain containers with credentials redacted: what a run logs of it."""
    return redact(OmegaConf.to_container(cfg, resolve=True))


def flatten_config(cfg: DictConfig) -> dict[str, str]:
    """The logged config as dotted keys (`trainer.learning_rate`), ready for mlflow.log_params."""
    flat: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        else:
            flat[prefix] = str(node)[:MAX_PARAM_LENGTH]

    walk(logged_config(cfg), "")
    return flat


def source_version_tags() -> dict[str, str]:
    """MLflow's commit tag for the project checkout and `git_dirty` (uncommitted changes to tracked
    files), which MLflow does not record. MLflow finds the commit itself from sys.argv[0] only, which
    in-process callers and launcher workers lack, so it is set from the checkout here; none outside git."""
    try:
        import git  # GitPython (an MLflow dependency) refuses to import where no git executable is installed
    except ImportError:
        return {}
    try:
        repo = git.Repo(PROJECT_ROOT, search_parent_directories=True)
        dirty = repo.is_dirty(untracked_files=False)
        return {MLFLOW_GIT_COMMIT: repo.head.commit.hexsha, "git_dirty": str(dirty).lower()}
    except (git.InvalidGitRepositoryError, git.GitCommandError, ValueError):  # ValueError: a repo with no commit
        return {}


def hydra_job_tags() -> dict[str, str]:
    """Sweep directory and job number when running under Hydra (empty outside it)."""
    from hydra.core.hydra_config import HydraConfig

    if not HydraConfig.initialized():
        return {}
    hydra = HydraConfig.get()
    tags = {"hydra_output_dir": str(hydra.runtime.output_dir)}
    if hydra.runtime.choices.get("arm"):
        tags["arm"] = str(hydra.runtime.choices["arm"])
    if str(hydra.mode) == "RunMode.MULTIRUN":
        tags |= {"sweep_dir": str(hydra.sweep.dir), "hydra_job_num": str(hydra.job.num)}
    return tags


# Groups that name a run by their option alone (`autoencoder_finetune`, not `armautoencoder_finetune`).
NAMING_GROUPS = ("dataset", "arm", "model", "strategy")


def run_name(cfg: DictConfig) -> str:
    """`<dataset>-<model>-<strategy>`; in a sweep, `<dataset>-` + what the sweep varies, in
    override order: `pima-autoencoder_finetune-seed3` for arm and trainer.seed, or
    `breast_cancer-mlp-scratch-dropout0.3` when only model.dropout varies (model and strategy
    stay unless an arm or they themselves vary)."""
    from hydra.core.hydra_config import HydraConfig

    parts = [cfg.dataset.name, cfg.model.name, cfg.strategy.name]
    if not HydraConfig.initialized() or str(HydraConfig.get().mode) != "RunMode.MULTIRUN":
        return "-".join(parts)
    hydra = HydraConfig.get()
    swept = swept_keys(hydra)
    values = {key: value for key, value in override_values(list(hydra.overrides.task)).items() if key in swept}
    if "arm" in values:
        parts = [cfg.dataset.name, str(values["arm"])]
    labels = [
        value_label(value) if key in NAMING_GROUPS else key.split(".")[-1] + value_label(value)
        for key, value in values.items()
        if key not in NAMING_GROUPS
    ]
    return "-".join(parts + labels)


def value_label(value) -> str:
    return f"{value:.4g}" if isinstance(value, float) else str(value)


def override_values(overrides: list[str]) -> dict:
    """key -> value of a job's `key=value` overrides ({} if unparsable)."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return {}
    return {o.key_or_group: o.value() for o in parsed if not o.is_sweep_override()}


def swept_keys(hydra) -> set[str]:
    """Keys a multirun gives several values: the sweeper's params (an experiment's sweep, an
    Optuna search space) and the command line's sweeps (`trainer.seed=1,2`), read from the
    multirun.yaml Hydra writes at the sweep's start; a single value on the command line wins."""
    from hydra.core.override_parser.overrides_parser import OverridesParser
    from hydra.errors import HydraException

    sweep_file = Path(str(hydra.sweep.dir)) / "multirun.yaml"
    if sweep_file.exists():
        command_line = list(OmegaConf.load(sweep_file).hydra.overrides.task)
    else:  # a launcher that writes none: this process' arguments
        command_line = [a for a in sys.argv[1:] if "=" in a and not a.startswith("-")]
    params = [f"{key}={value}" for key, value in (hydra.sweeper.get("params") or {}).items()]
    swept: dict[str, bool] = {}
    for override in params + command_line:
        try:
            parsed = OverridesParser.create().parse_override(override)
        except HydraException:
            continue
        swept[parsed.key_or_group] = parsed.is_sweep_override()
    return {key for key, is_sweep in swept.items() if is_sweep}
