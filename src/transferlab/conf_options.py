"""Where the Hydra config lives, and which options each config group offers."""
from transferlab import PROJECT_ROOT

CONF_DIR = PROJECT_ROOT / "conf"
EXPERIMENTS_DIR = PROJECT_ROOT / "experiments"


def group_options() -> dict[str, list[str]]:
    """Every config group and its options, as `python run.py group=option` accepts them."""
    options = {d.name: sorted(p.stem for p in d.glob("*.yaml")) for d in CONF_DIR.iterdir() if d.is_dir()}
    options["experiment"] = sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml"))
    return options
