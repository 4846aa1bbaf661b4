"""Every job of a sweep checked before the first one starts (a Hydra callback): each job's config
is composed as the sweeper will compose it and given to config_checks.check_config; any bad value
is one line per job and the sweep ends with exit code 2 before anything runs. A Ray cluster the
launcher is to join must answer first."""

import sys
from typing import Any

from hydra._internal.core_plugins.basic_sweeper import BasicSweeper
from hydra.core.global_hydra import GlobalHydra
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.experimental.callback import Callback
from omegaconf import DictConfig

from transferlab.config_checks import check_config
from transferlab.errors import ConfigError
from transferlab.sweeps.launchers import ray_address_error

BASIC_SWEEPER = "hydra._internal.core_plugins.basic_sweeper.BasicSweeper"
OPTUNA_SWEEPER = "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"


class CheckSweepJobs(Callback):
    """Registered under hydra.callbacks; runs in the launching process before any job."""

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        unreachable = ray_address_error(config)
        errors = [unreachable] if unreachable else sweep_errors(config)
        for error in errors:
            print(f"error: {error}", file=sys.stderr)
        if errors:
            sys.exit(2)  # a callback's exceptions become warnings in Hydra; SystemExit ends the sweep


def sweep_errors(config: DictConfig) -> list[str]:
    """One line per job (basic sweeper) or search-space value (Optuna) whose config check fails;
    other sweepers' jobs are checked when they run."""
    sweeper = config.hydra.sweeper._target_
    params = [f"{key}={value}" for key, value in (config.hydra.sweeper.get("params") or {}).items()]
    arguments = params + list(config.hydra.overrides.task)
    if sweeper == BASIC_SWEEPER:
        return basic_sweep_errors(config, arguments)
    if sweeper == OPTUNA_SWEEPER:
        return search_space_errors(config, arguments)
    return []


def basic_sweep_errors(config: DictConfig, arguments: list[str]) -> list[str]:
    """`job N: <error>` for each job of BasicSweeper's expansion of `arguments` that check_config refuses."""
    loader = GlobalHydra.instance().config_loader()
    parsed = OverridesParser.create(config_loader=loader).parse_overrides(arguments)
    jobs = [job for batch in BasicSweeper.split_arguments(parsed, None) for job in batch]
    errors = []
    for number, job in enumerate(jobs):
        error = config_error(config, job)
        if error:
            errors.append(f"job {number}: {error}")
    return errors


def search_space_errors(config: DictConfig, arguments: list[str]) -> list[str]:
    """`search space KEY=SPACE: <error>` for each choice and each interval or range bound of an
    Optuna search space that check_config refuses (with the fixed overrides and no other param)."""
    from hydra_plugins.hydra_optuna_sweeper._impl import create_params_from_overrides

    distributions, fixed = create_params_from_overrides(arguments)
    base = [f"{key}={value}" for key, value in fixed.items()]
    parsed = OverridesParser.create().parse_overrides(arguments)
    spaces = {override.get_key_element(): text.split("=", 1)[1] for text, override in zip(arguments, parsed)}
    errors = []
    for key, distribution in distributions.items():
        values = getattr(distribution, "choices", None) or (distribution.low, distribution.high)
        for value in values:
            error = config_error(config, [*base, f"{key}={value}"])
            if error:
                errors.append(f"search space {key}={spaces[key]}: {error}")
    return errors


def config_error(config: DictConfig, overrides: list[str]) -> ConfigError | None:
    """check_config's error for the job the sweep's master `config` launches with `overrides`."""
    job = GlobalHydra.instance().config_loader().load_sweep_config(config, overrides)
    try:
        check_config(job)
    except ConfigError as err:
        return err
    if job.trainer.distribute == "multi_worker":  # every process of the cluster must run the same jobs
        return ConfigError(
            "trainer.distribute", "multi_worker", "trains one job across processes: run it without -m, on every process"
        )
    return None
