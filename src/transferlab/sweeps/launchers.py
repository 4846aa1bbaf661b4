"""Launchers that come as optional extras (Ray, submitit): a missing extra, and a Ray cluster that does
not answer, are one line before anything runs instead of Hydra's or Ray's tracebacks."""

import importlib.util
import socket

from hydra.core.override_parser.overrides_parser import OverridesParser
from omegaconf import DictConfig

from transferlab.errors import ConfigError

# hydra/launcher option -> (the plugin module it needs, the pyproject extra that installs it)
EXTRA_LAUNCHERS = {
    "ray": ("hydra_plugins.hydra_ray_launcher", "ray"),
    "ray_cluster": ("hydra_plugins.hydra_ray_launcher", "ray"),
    "submitit_local": ("hydra_plugins.hydra_submitit_launcher", "submitit"),
    "submitit_slurm": ("hydra_plugins.hydra_submitit_launcher", "submitit"),
    "slurm": ("hydra_plugins.hydra_submitit_launcher", "submitit"),
}
RAY_LAUNCHER = "hydra_plugins.hydra_ray_launcher.ray_launcher.RayLauncher"
RAY_DEFAULT_PORT = 6379
PROBE_TIMEOUT_S = 5.0  # Ray itself retries an unreachable cluster for about 20 s, then prints a traceback


def check_launcher_installed(overrides: list[str]) -> None:
    """ConfigError when `hydra/launcher=...` on the command line names a launcher whose extra is not installed."""
    chosen = [o for o in overrides if o.startswith("hydra/launcher=")]
    if not chosen:
        return
    try:
        parsed = OverridesParser.create().parse_overrides(chosen)
    except Exception:  # malformed syntax: Hydra's own parser reports it
        return
    for override in parsed:
        choice = str(override.value())
        module, extra = EXTRA_LAUNCHERS.get(choice, (None, None))
        if module is not None and not installed(module):
            raise ConfigError("hydra/launcher", choice, f'needs the "{extra}" extra: pip install -e ".[{extra}]"')


def installed(module: str) -> bool:
    """Whether `module` can be imported (its parent packages imported to find it)."""
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:
        return False


def ray_address_error(config: DictConfig) -> ConfigError | None:
    """The error for a Ray launcher whose cluster address (HOST:PORT) does not accept a connection."""
    if config.hydra.launcher.get("_target_") != RAY_LAUNCHER:
        return None
    address = config.hydra.launcher.ray.init.get("address")
    if address in (None, "auto", "local") or str(address).startswith("ray://"):
        return None  # Ray starts in this process, finds this machine's cluster, or uses Ray Client
    host, _, port = str(address).partition(":")
    try:
        socket.create_connection((host, int(port or RAY_DEFAULT_PORT)), timeout=PROBE_TIMEOUT_S).close()
    except (OSError, ValueError) as err:
        reason = getattr(err, "strerror", None) or str(err) or type(err).__name__
        return ConfigError(
            "hydra.launcher.ray.init.address",
            address,
            f"no Ray cluster answers there ({reason}); start one with `ray start --head` or fix the address",
        )
    return None
