"""Where the Hydra config lives, and which options each config group offers."""

import functools

from transferlab import PROJECT_ROOT

CONF_DIR = PROJECT_ROOT / "conf"
EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"


def group_options(search_path: tuple[str, ...] = ()) -> dict[str, list[str]]:
    """Every config group and its options, as `python run.py group=option` accepts them: Hydra's
    own listing of conf/ (Hydra's groups, hydra/..., left out) plus the experiments/ presets.
    `search_path`: the command line's `hydra.searchpath=[...]` overrides, whose folders add options."""
    return listed_group_options(tuple(search_path))  # one cache entry for () and no argument


@functools.cache  # conf/ does not change while a process runs; the CLI's checks and the job's ask several times
def listed_group_options(search_path: tuple[str, ...]) -> dict[str, list[str]]:
    """group_options, listed once per search path. Inside a job Hydra's config loader is asked
    directly; before one (the CLI's first check) a temporary Hydra context over conf/ is opened
    (measurements: benchmarks/README.md, 'Why the code is shaped this way')."""
    from hydra import initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    def listing() -> dict[str, list[str]]:
        loader = GlobalHydra.instance().config_loader()
        # Hydra builds a config repository per call when given overrides: only for a search path.
        with_search_path = {"config_name": "config", "overrides": list(search_path)} if search_path else {}
        return {
            group: sorted(loader.get_group_options(group, **with_search_path))
            for group in loader.list_groups("")
            if group != "hydra"
        }

    if GlobalHydra.instance().is_initialized():
        options = listing()
    else:
        with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
            options = listing()
    # experiments/ are registered in Hydra's ConfigStore only at start-up (cli.register_experiments).
    options["experiment"] = sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml"))
    return options


def is_config_group(name: str, search_path: tuple[str, ...] = ()) -> bool:
    """Whether `name` is one of group_options' groups: a top-level folder of conf/ other than
    hydra/, or `experiment`; with a search path, whatever Hydra's listing holds."""
    if name == "hydra" or "/" in name:
        return False
    if name == "experiment" or (CONF_DIR / name).is_dir():
        return True
    return bool(search_path) and name in group_options(search_path)


def offers(group: str, option: str, search_path: tuple[str, ...] = ()) -> bool:
    """Whether config group `group` offers `option`: its YAML file in conf/ (experiments/) answers
    without Hydra's listing (~0.4 s); anything else (search paths, other sources) asks the listing."""
    folder = EXPERIMENTS_DIR if group == "experiment" else CONF_DIR / group
    return (folder / f"{option}.yaml").is_file() or option in group_options(search_path).get(group, [])
