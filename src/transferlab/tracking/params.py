"""What identifies a run: flattened config params, tags, provenance."""
import subprocess

from omegaconf import DictConfig, OmegaConf

from transferlab import PROJECT_ROOT

MAX_PARAM_LENGTH = 6000  # MLflow's limit on a param value


def flatten_config(cfg: DictConfig) -> dict[str, str]:
    """The resolved config as dotted keys (`trainer.learning_rate`), ready for mlflow.log_params."""
    flat: dict[str, str] = {}

    def walk(node, prefix: str) -> None:
        if isinstance(node, dict) and node:
            for key, value in node.items():
                walk(value, f"{prefix}.{key}" if prefix else str(key))
        else:
            flat[prefix] = str(node)[:MAX_PARAM_LENGTH]

    walk(OmegaConf.to_container(cfg, resolve=True), "")
    return flat


def git_commit() -> str:
    """HEAD of the project checkout, with '-dirty' when tracked files have uncommitted changes."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "-C", str(PROJECT_ROOT), *args], capture_output=True, text=True, check=True).stdout.strip()

    try:
        commit = git("rev-parse", "HEAD")
        dirty = git("status", "--porcelain", "--untracked-files=no")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return commit + ("-dirty" if dirty else "")


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
