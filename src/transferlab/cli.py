"""Command line: compose the Hydra config, run one job, report bad input on one line."""

import sys
from pathlib import Path

import hydra
from hydra.core.config_store import ConfigStore
from hydra.core.hydra_config import HydraConfig
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import OverrideParseException
from hydra.types import RunMode
from omegaconf import DictConfig, OmegaConf

from transferlab import PROJECT_ROOT, console
from transferlab.conf_options import CONF_DIR, EXPERIMENTS_DIR, group_options, is_config_group, offers
from transferlab.config_checks import check_config
from transferlab.errors import ConfigError
from transferlab.interruption import JobInterrupted, interruptible
from transferlab.job_inputs import load_job_inputs
from transferlab.runtime import select_backend, skip_teardown_after_success
from transferlab.sweeps.launchers import check_launcher_installed
from transferlab.tracking.settings import check_credential_overrides
from transferlab.unknown_keys import check_keys

OmegaConf.register_new_resolver("project_root", lambda: str(PROJECT_ROOT), replace=True)


def register_experiments(directory: Path = EXPERIMENTS_DIR, names: list[str] | None = None) -> None:
    """Make experiments/NAME.yaml selectable as `experiment=NAME` (a global preset): every preset, or
    those of `names` and the presets they extend."""
    store = ConfigStore.instance()
    pending = sorted(path.stem for path in directory.glob("*.yaml")) if names is None else list(names)
    registered = set()
    while pending:
        name = pending.pop()
        path = directory / f"{name}.yaml"
        if name in registered or not path.is_file():
            continue  # an unknown name: check_group_choices reports it
        node = OmegaConf.load(path)
        store.store(group="experiment", name=name, node=node, package="_global_")
        registered.add(name)
        pending += extended_presets(node)


def extended_presets(preset: DictConfig) -> list[str]:
    """The presets a preset's defaults list extends (`- ham10000_fusion`, `- /experiment/ham10000_fusion`)."""
    entries = [entry for entry in preset.get("defaults") or [] if isinstance(entry, str) and entry != "_self_"]
    return [entry.removeprefix("/experiment/") for entry in entries if "/" not in entry.removeprefix("/experiment/")]


def selected_experiments(argv: list[str]) -> list[str] | None:
    """The presets `experiment=NAME` (or a sweep of them) selects; None, for all, when the command
    line asks Hydra for help, info or completion or cannot be parsed. Hydra deep-copies every
    registered preset at each composition and listing (~0.3 s for all of them), so a job registers
    only its own."""
    from hydra._internal.utils import get_args_parser

    args, _ = get_args_parser().parse_known_args(argv)
    if args.help or args.hydra_help or args.info or args.shell_completion:
        return None
    try:
        parsed = OverridesParser.create().parse_overrides([o for o in args.overrides if "=" in o])
        choices = [
            list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
            for override in parsed
            if override.key_or_group.lstrip("/") == "experiment" and not override.is_delete()
        ]
    except Exception:  # malformed syntax or a glob(): Hydra reports or expands them itself
        return None
    return [str(name) for values in choices for name in values]


def check_group_choices(overrides: list[str]) -> None:
    """Fail fast, on one line, when an override selects a config option that does not exist.

    Hydra would also refuse, but with a multi-line report; this names key, value and choices.
    """
    search_path = tuple(o for o in overrides if o.startswith("hydra.searchpath="))
    try:
        parsed = OverridesParser.create().parse_overrides([o for o in overrides if "=" in o])
    except OverrideParseException:
        return  # malformed syntax: Hydra's own parser reports it with a pointer to the grammar
    for override in parsed:
        group = override.key_or_group.lstrip("/")
        if override.is_delete() or not is_config_group(group, search_path):
            continue
        values = list(override.sweep_string_iterator()) if override.is_sweep_override() else [override.value()]
        for value in values:
            for choice in value if isinstance(value, list) else [value]:
                if choice is not None and not offers(group, str(choice), search_path):
                    options = group_options(search_path)[group]
                    raise ConfigError(group, choice, "not an option; choose one of " + ", ".join(options))


@hydra.main(version_base="1.3", config_path=str(CONF_DIR), config_name="config")
def run_hydra_job(cfg: DictConfig) -> float | None:
    """One Hydra job: returns the objective metric for sweepers. A job of a sweep never raises
    (None when it failed, see sweeps.sweep_job); a single job's bad input is one line, exit code 2."""
    if HydraConfig.get().mode == RunMode.MULTIRUN:
        from transferlab.sweeps.sweep_job import run_sweep_job  # imports MLflow: not before a single job needs it

        return run_sweep_job(cfg, run_checked, find_config_error)
    try:
        check_config(cfg)
        return run_checked(cfg)
    except Exception as err:
        user_error = find_config_error(err)
        if user_error is None:
            raise
        print(f"error: {user_error}", file=sys.stderr)
        sys.exit(2)


def run_checked(cfg: DictConfig) -> float:
    """Choose the backend, load the data and run the job whose config check_config accepted."""
    select_backend(cfg.trainer.backend, cfg.trainer.device)
    console.setup(cfg.trainer.verbose)
    inputs = load_job_inputs(cfg)  # before the backend's slow import: data errors arrive in seconds
    console.import_backend(cfg.trainer.verbose, cfg.trainer.backend)
    from transferlab.pipeline import run_job  # imports Keras: only after the backend is chosen

    return run_job(cfg, inputs)


def find_config_error(err: BaseException) -> ConfigError | None:
    """The ConfigError behind `err`, also when Hydra's instantiate wrapped it."""
    while err is not None and not isinstance(err, ConfigError):
        err = err.__cause__
    return err


def check_command_line(argv: list[str]) -> None:
    """ConfigError for a tracking credential, a group option or a key the command line names that
    does not exist, before Hydra runs anything (also for each job of a multirun sweep)."""
    from hydra._internal.utils import get_args_parser

    args, _ = get_args_parser().parse_known_args(argv)
    check_launcher_installed(args.overrides)
    check_credential_overrides(args.overrides)
    check_group_choices(args.overrides)
    if not (
        args.help
        or args.hydra_help
        or args.info
        or args.shell_completion
        or args.config_path
        or args.config_dir
        or args.config_name not in (None, "config")
    ):
        check_keys(args.overrides)


def main() -> None:
    """`python run.py [overrides]` and the `transferlab` console script."""
    console.prepare()
    succeeded = skip_teardown_after_success()
    register_experiments(names=selected_experiments(sys.argv[1:]))
    try:
        check_command_line(sys.argv[1:])
    except ConfigError as err:
        print(f"error: {err}", file=sys.stderr)
        sys.exit(2)
    with interruptible():
        try:
            run_hydra_job()
        except JobInterrupted as interrupted:
            print(interrupted.message(["python", "run.py", *sys.argv[1:]]), file=sys.stderr)
            sys.exit(interrupted.exit_code)
    succeeded()
