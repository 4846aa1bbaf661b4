"""1. Every option of every config group, and every experiment preset, composes into a runnable config."""
import pytest
from omegaconf import OmegaConf

from conftest import CONF_DIR, EXPERIMENTS_DIR, compose_config
from transferlab.config_checks import check_config

GROUPS = ("dataset", "model", "strategy", "explainer", "trainer", "callbacks", "tracking", "hparams_search", "arm")
# Options that cannot compose on their own: the generic CSV loader needs a file and a target.
REQUIRED_EXTRAS = {("dataset", "csv"): ["dataset.loader.path=/some/table.csv", "dataset.loader.target=label"]}


def group_options():
    return [(group, path.stem) for group in GROUPS for path in sorted((CONF_DIR / group).glob("*.yaml"))]


def test_every_conf_group_is_covered():
    groups_on_disk = {p.name for p in CONF_DIR.iterdir() if p.is_dir()} - {"hydra"}  # conf/hydra: Hydra's own groups
    assert groups_on_disk == set(GROUPS), "a config group was added or removed: update GROUPS"
    assert len(group_options()) >= 15


@pytest.mark.parametrize(("group", "option"), group_options(), ids=lambda v: str(v))
def test_group_option_composes(group, option):
    cfg = compose_config(f"{group}={option}", *REQUIRED_EXTRAS.get((group, option), []))
    OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    check_config(cfg)                           # and the composed config passes validation

    if group in ("dataset", "model", "strategy"):
        assert cfg[group].name == option
    elif group == "explainer":
        assert list(cfg.explainer) == ([] if option == "none" else [option])
    elif group == "arm":
        model, strategy = option.rsplit("_", 1)
        assert (cfg.model.name, cfg.strategy.name) == (model, strategy)
    elif group == "hparams_search":
        hydra_cfg = compose_config(f"{group}={option}", return_hydra_config=True).hydra
        assert option in hydra_cfg.sweeper._target_.lower()
        assert str(hydra_cfg.mode) == "RunMode.MULTIRUN"
    elif group == "callbacks":  # package trainer.callbacks
        assert set(cfg.trainer.callbacks) <= {"early_stopping", "progress", "trim_heap"}
    else:
        assert cfg[group]


def test_every_experiment_preset_composes():
    presets = sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml"))
    assert presets
    for name in presets:
        cfg = compose_config(f"experiment={name}")
        OmegaConf.to_container(cfg, resolve=True)
        check_config(cfg)


def test_pima_transfer_preset():
    cfg = compose_config("experiment=pima_transfer", return_hydra_config=True)
    assert cfg.dataset.name == "pima"
    assert list(cfg.explainer) == ["permutation", "integrated_gradients"]
    assert cfg.study == "pima_transfer" and cfg.tracking.experiment == "pima_transfer"
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"
    assert cfg.hydra.sweeper.params.arm == "mlp_scratch,autoencoder_frozen,autoencoder_finetune"


def test_explainer_list_composes_to_three_keys():
    cfg = compose_config("explainer=[permutation,integrated_gradients,shap]")
    assert set(cfg.explainer) == {"permutation", "integrated_gradients", "shap"}
    check_config(cfg)


def test_csv_dataset_requires_path_and_target():
    cfg = compose_config("dataset=csv")
    assert OmegaConf.is_missing(cfg.dataset.loader, "path")
    assert OmegaConf.is_missing(cfg.dataset.loader, "target")
    cfg = compose_config("dataset=csv", "dataset.loader.path=/data/t.csv", "dataset.loader.target=y")
    assert (cfg.dataset.loader.path, cfg.dataset.loader.target) == ("/data/t.csv", "y")
