"""1. Every option of every config group, and every experiment preset, composes into a runnable config."""

import pytest
from hydra.core.config_store import ConfigStore
from omegaconf import OmegaConf

from conftest import CONF_DIR, EXPERIMENTS_DIR, compose_config
from transferlab.cli import register_experiments, selected_experiments
from transferlab.config_checks import check_config
from transferlab.explanation_report import explanation_settings

GROUPS = ("dataset", "model", "strategy", "explainer", "trainer", "callbacks", "tracking", "hparams_search", "arm")
# Options that cannot compose on their own: the generic CSV loader needs a file and a target, a
# tracking server its URI.
REQUIRED_EXTRAS = {
    ("dataset", name): ["dataset.loader.path=/some/table.csv", "dataset.loader.target=label"]
    for name in ("csv", "multimodal_csv")
} | {("tracking", "server"): ["tracking.uri=http://127.0.0.1:5000"]}


OPTIONS = {
    "dataset": [
        "breast_cancer",
        "csv",
        "digits",
        "ham10000",
        "ham10000_metadata",
        "higgs",
        "image_folder",
        "mnist",
        "multimodal_csv",
        "pima",
        "sms_spam",
    ],
    "model": [
        "autoencoder",
        "backbone",
        "cnn",
        "cnn_small",
        "efficientnet_b0",
        "fusion",
        "mlp",
        "mlp_100_64_32",
        "mobilenet",
        "mobilenet_025",
        "mobilenet_v2",
        "resnet50",
        "resnet_mlp",
        "text_bag",
        "text_linear",
        "vgg16",
    ],
    "strategy": ["early_fusion", "finetune", "frozen", "late_fusion", "lora", "scratch"],
    "explainer": [
        "auto",
        "feature_maps",
        "gradcam",
        "integrated_gradients",
        "lime",
        "modality",
        "none",
        "permutation",
        "shap",
    ],
    "trainer": ["default"],
    "callbacks": ["checkpoint", "default", "early_stopping", "none", "progress", "trim_heap"],
    "tracking": ["mlflow", "server"],
    "hparams_search": ["optuna"],
    "arm": [
        "autoencoder_finetune",
        "autoencoder_frozen",
        "cnn_scratch",
        "ham10000_early",
        "ham10000_early_efficientnet",
        "ham10000_early_mobilenet",
        "ham10000_image",
        "ham10000_image_efficientnet",
        "ham10000_image_mobilenet",
        "ham10000_late_head",
        "ham10000_late_head_efficientnet",
        "ham10000_late_head_mobilenet",
        "ham10000_late_weighted",
        "ham10000_tabular",
        "interp_breast_cancer_mlp",
        "interp_digits_cnn",
        "interp_mnist_mobilenet",
        "interp_mnist_mobilenet_v2",
        "interp_sms_text_linear",
        "mlp_scratch",
        "mobilenet_025_finetune",
        "mobilenet_025_frozen",
        "mobilenet_025_lora",
        "mobilenet_v2_frozen",
        "resnet50_frozen",
        "resnet_mlp_finetune",
        "resnet_mlp_frozen",
        "resnet_mlp_lora",
        "resnet_mlp_scratch",
        "vgg16_finetune",
        "vgg16_frozen",
    ],
}
PRESETS = [
    "breast_cancer_explanations",
    "ham10000_fusion",
    "ham10000_fusion_efficientnet",
    "ham10000_fusion_mobilenet",
    "ham10000_fusion_quick",
    "ham10000_split_leak",
    "higgs_lora",
    "higgs_lora_full",
    "interpretability",
    "mnist_transfer",
    "mnist_transfer_quick",
    "pima_transfer",
]
# Study arms not named <model>_<strategy>: (model, strategy) they select.
NAMED_ARMS = {
    "ham10000_tabular": ("mlp_100_64_32", "scratch"),
    "ham10000_image": ("cnn_small", "scratch"),
    "ham10000_late_head": ("fusion", "late_fusion"),
    "ham10000_late_weighted": ("fusion", "late_fusion"),
    "ham10000_early": ("fusion", "early_fusion"),
    "ham10000_image_mobilenet": ("mobilenet_025", "finetune"),
    "ham10000_early_mobilenet": ("fusion", "early_fusion"),
    "ham10000_late_head_mobilenet": ("fusion", "late_fusion"),
    "ham10000_image_efficientnet": ("efficientnet_b0", "finetune"),
    "ham10000_early_efficientnet": ("fusion", "early_fusion"),
    "ham10000_late_head_efficientnet": ("fusion", "late_fusion"),
    "interp_breast_cancer_mlp": ("mlp", "scratch"),
    "interp_digits_cnn": ("cnn", "scratch"),
    "interp_mnist_mobilenet": ("mobilenet_025", "finetune"),
    "interp_mnist_mobilenet_v2": ("mobilenet_v2", "finetune"),
    "interp_sms_text_linear": ("text_linear", "scratch"),
}


def group_options():
    return [(group, path.stem) for group in GROUPS for path in sorted((CONF_DIR / group).glob("*.yaml"))]


def test_every_conf_group_is_covered():
    groups_on_disk = {p.name for p in CONF_DIR.iterdir() if p.is_dir()} - {"hydra"}  # conf/hydra: Hydra's own groups
    assert groups_on_disk == set(GROUPS), "a config group was added or removed: update GROUPS"
    found = {}
    for group, option in group_options():
        found.setdefault(group, []).append(option)
    assert found == OPTIONS, "an option was added or removed: update OPTIONS (and the README's table)"
    from transferlab.conf_options import group_options as cli_options  # what run.py accepts

    assert cli_options() == OPTIONS | {"experiment": PRESETS}


@pytest.mark.parametrize(("group", "option"), group_options(), ids=lambda v: str(v))
def test_group_option_composes(group, option):
    cfg = compose_config(f"{group}={option}", *REQUIRED_EXTRAS.get((group, option), []))
    OmegaConf.to_container(cfg, resolve=True)  # every interpolation resolves
    check_config(cfg)  # and the composed config passes validation

    if group in ("dataset", "model", "strategy"):
        assert cfg[group].name == option
    elif group == "explainer":
        assert list(cfg.explainer) == ([] if option == "none" else [option])
    elif group == "arm":
        model, strategy = NAMED_ARMS.get(option) or option.rsplit("_", 1)
        assert (cfg.model.name, cfg.strategy.name) == (model, strategy)
    elif group == "hparams_search":
        hydra_cfg = compose_config(f"{group}={option}", return_hydra_config=True).hydra
        assert hydra_cfg.sweeper._target_ == "hydra_plugins.hydra_optuna_sweeper.optuna_sweeper.OptunaSweeper"
        assert str(hydra_cfg.mode) == "RunMode.MULTIRUN" and hydra_cfg.sweeper.n_trials == 20
        assert set(hydra_cfg.sweeper.params) == {"trainer.learning_rate", "trainer.batch_size", "model.dropout"}
    elif group == "trainer":
        assert {
            k: cfg.trainer[k]
            for k in (
                "backend",
                "device",
                "precision",
                "seed",
                "epochs",
                "batch_size",
                "optimizer",
                "learning_rate",
                "class_weight",
                "steps_per_execution",
                "jit_compile",
                "feed",
            )
        } == {
            "backend": "tensorflow",
            "device": "auto",
            "precision": "float32",
            "seed": 42,
            "epochs": 200,
            "batch_size": 32,
            "optimizer": "adam",
            "learning_rate": 1e-3,
            "class_weight": "balanced",
            "steps_per_execution": "auto",
            "jit_compile": "auto",
            "feed": "auto",
        }
        assert cfg.trainer.compilation_cache_dir == f"{cfg.paths.cache_dir}/jax_compilation"
        assert set(cfg.trainer.callbacks) == {"early_stopping", "progress", "checkpoint"}
        assert {k: v for k, v in cfg.trainer.callbacks.early_stopping.items() if k != "_target_"} == {
            "monitor": "val_loss",
            "patience": 20,
            "restore_best_weights": True,
        }
    elif group == "callbacks":  # package trainer.callbacks
        expected = {
            "default": {"early_stopping", "progress", "checkpoint"},
            "checkpoint": {"checkpoint"},
            "none": set(),
            "trim_heap": {"trim_heap"},
            "early_stopping": {"early_stopping"},
            "progress": {"progress"},
        }[option]
        assert set(cfg.trainer.callbacks or {}) == expected
    else:
        assert group == "tracking"
        assert (cfg.tracking.experiment, cfg.tracking.log_model, cfg.tracking.system_metrics) == (
            "breast_cancer",
            True,
            False,
        )
        assert cfg.tracking.server == (option == "server")
        assert cfg.tracking.artifact_root == (None if option == "server" else f"{cfg.paths.root}/mlruns")


def test_every_experiment_preset_composes_with_only_itself_registered(monkeypatch):
    """As `python run.py experiment=NAME` does: the preset and those it extends, nothing else."""
    presets = sorted(p.stem for p in EXPERIMENTS_DIR.glob("*.yaml"))
    assert presets == PRESETS
    store, registered = ConfigStore.instance(), {}
    for name in presets:
        monkeypatch.setitem(store.repo, "experiment", {})
        register_experiments(names=selected_experiments([f"experiment={name}"]))
        registered[name] = sorted(store.repo["experiment"])
        cfg = compose_config(f"experiment={name}")
        OmegaConf.to_container(cfg, resolve=True)
        check_config(cfg)
        explanation_settings(OmegaConf.to_container(cfg.report).get("explanations"))  # the report's block
    assert registered["pima_transfer"] == ["pima_transfer.yaml"]
    assert registered["mnist_transfer_quick"] == ["mnist_transfer.yaml", "mnist_transfer_quick.yaml"]


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
