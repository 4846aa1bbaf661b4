"""Validation beside each component: every settings constraint rejects a bad value with the exact
one-line message, and a key that does not exist is one line with a suggestion (exit 2).

In-process (compose + check_config, or the CLI's own command-line check) except one CLI run.
"""

import inspect

import pytest

from conftest import FAST, all_runs, compose_config, describe, presets_of
from transferlab.cli import check_command_line, selected_experiments
from transferlab.config_checks import check_config
from transferlab.errors import ConfigError, UnknownKeyError

HIGGS = ("dataset=higgs",)
MNIST = ("dataset=mnist",)
DIGITS = ("dataset=digits",)

# (overrides, the exact error line after `error: `)
CONSTRAINTS = [
    # trainer_settings.TrainerSettings (also each strategy stage's merged settings)
    (["trainer.backend=torch"], "trainer.backend=torch: allowed: tensorflow, jax"),
    (["trainer.device=tpu"], "trainer.device=tpu: allowed: auto, cpu, gpu"),
    (["trainer.precision=float16"], "trainer.precision=float16: allowed: float32, mixed_float16, mixed_bfloat16"),
    (["trainer.optimizer=lbfgs"], "trainer.optimizer=lbfgs: allowed: adam, adamw, sgd, rmsprop, nadam, adagrad"),
    (["trainer.class_weight=inverse"], "trainer.class_weight=inverse: allowed: balanced, None"),
    (["trainer.epochs=0"], "trainer.epochs=0: must be a positive integer"),
    (["trainer.epochs=2.5"], "trainer.epochs=2.5: must be a positive integer"),
    (["trainer.batch_size=-4"], "trainer.batch_size=-4: must be a positive integer"),
    (["trainer.learning_rate=-1"], "trainer.learning_rate=-1: must be a positive number"),
    (["trainer.learning_rate=0"], "trainer.learning_rate=0: must be a positive number"),
    (["trainer.learning_rate=fast"], "trainer.learning_rate=fast: must be a positive number"),
    (["trainer.steps_per_execution=0"], "trainer.steps_per_execution=0: must be auto or a positive integer"),
    (["trainer.jit_compile=sometimes"], "trainer.jit_compile=sometimes: allowed: auto, True, False"),
    (["trainer.feed=stream"], "trainer.feed=stream: allowed: auto, arrays, batches"),
    (["trainer.compilation_cache_dir=5"], "trainer.compilation_cache_dir=5: must be a folder path or null"),
    (
        ["trainer.callbacks.early_stopping.patience=-1"],
        "trainer.callbacks.early_stopping.patience=-1: must be an integer >= 0",
    ),
    (["trainer.seed=abc"], "trainer.seed=abc: must be an integer"),
    (
        ["strategy=frozen", "strategy.stages.frozen.learning_rate=-1"],
        "strategy.stages.frozen.learning_rate=-1: must be a positive number",
    ),
    # data/split_settings.py: the model of the loader's kind of source
    (["dataset.split.test_size=1.5"], "dataset.split.test_size=1.5: must be a fraction in (0, 1)"),
    (["dataset.split.val_size=0"], "dataset.split.val_size=0: must be a fraction in (0, 1)"),
    (["dataset.split.stratify=maybe"], "dataset.split.stratify=maybe: must be true or false"),
    ([*DIGITS, "dataset.split.val_fraction=1"], "dataset.split.val_fraction=1: must be a fraction in (0, 1)"),
    ([*DIGITS, "dataset.split.test_fraction=2"], "dataset.split.test_fraction=2: must be null or a fraction in (0, 1)"),
    ([*MNIST, "dataset.split.subset=0"], "dataset.split.subset=0: must be null or a positive integer"),
    ([*HIGGS, "dataset.split.n_train=0"], "dataset.split.n_train=0: must be a positive integer"),
    ([*HIGGS, "dataset.split.n_test=1.5"], "dataset.split.n_test=1.5: must be a positive integer"),
    (
        [*HIGGS, "dataset.split.n_extra=-1"],
        "dataset.split.n_extra=-1: must be null (all rows between train and test) or an integer >= 0",
    ),
    ([*HIGGS, "dataset.split.val_fraction=0.0"], "dataset.split.val_fraction=0.0: must be a fraction in (0, 1)"),
    ([*MNIST, "+dataset.split.test_size=0.2"], "dataset.split.test_size: no such key"),
    ([*HIGGS, "+dataset.split.val_size=0.2"], "dataset.split.val_size: no such key"),
    # evaluation/settings.py
    (["evaluation.betas=[1,-2]"], "evaluation.betas[1]=-2: must be a positive number"),
    (["evaluation.threshold_grid.start=0.95"], "evaluation.threshold_grid=0.95..0.9: need 0 <= start < stop <= 1"),
    (["evaluation.threshold_grid.stop=1.5"], "evaluation.threshold_grid=0.1..1.5: need 0 <= start < stop <= 1"),
    (["evaluation.threshold_grid.num=0"], "evaluation.threshold_grid.num=0: must be a positive integer"),
    (
        ["objective.metric=roc_auc"],
        "objective.metric=roc_auc: must be a logged val_*/test_* metric, e.g. val_roc_auc, val_f2",
    ),
    (["objective.direction=up"], "objective.direction=up: allowed: maximize, minimize"),
    # explainers/settings.py
    (
        ["explainer=permutation", "explainer.permutation.scoring=f2x"],
        "explainer.permutation.scoring=f2x: allowed: auto, f<beta> (e.g. f2), roc_auc, pr_auc, accuracy, "
        "balanced_accuracy, macro_f1, log_loss",
    ),
    (
        ["explainer=permutation", "explainer.permutation.n_repeats=0"],
        "explainer.permutation.n_repeats=0: must be a positive integer",
    ),
    (
        ["explainer=permutation", "explainer.permutation.max_samples=1.5"],
        "explainer.permutation.max_samples=1.5: must be null, a row count >= 1 or a fraction in (0, 1]",
    ),
    (
        ["explainer=integrated_gradients", "explainer.integrated_gradients.steps=0"],
        "explainer.integrated_gradients.steps=0: must be a positive integer",
    ),
    (
        ["explainer=integrated_gradients", "explainer.integrated_gradients.chunk_rows=-1"],
        "explainer.integrated_gradients.chunk_rows=-1: must be a positive integer",
    ),
    (
        ["explainer=integrated_gradients", "explainer.integrated_gradients.n_images=2.5"],
        "explainer.integrated_gradients.n_images=2.5: must be a positive integer",
    ),
    (
        ["explainer=integrated_gradients", "explainer.integrated_gradients.chunk_images=-1"],
        "explainer.integrated_gradients.chunk_images=-1: must be a positive integer",
    ),
    (
        ["explainer=integrated_gradients", "explainer.integrated_gradients.max_rows=0"],
        "explainer.integrated_gradients.max_rows=0: must be null or a positive integer",
    ),
    (
        ["explainer=shap", "explainer.shap.background_rows=0"],
        "explainer.shap.background_rows=0: must be a positive integer",
    ),
    (["explainer=shap", "explainer.shap.max_rows=-5"], "explainer.shap.max_rows=-5: must be a positive integer"),
    (["explainer=shap", "explainer.shap.n_images=true"], "explainer.shap.n_images=True: must be a positive integer"),
    (["explainer=shap", "explainer.shap.max_evals=0"], "explainer.shap.max_evals=0: must be a positive integer"),
    (
        ["explainer=shap", "explainer.shap.algorithm=fast"],
        "explainer.shap.algorithm=fast: allowed: auto, permutation, partition, tree, linear, deep, exact, additive",
    ),
    (
        ["explainer=shap", "explainer.shap.mask_value=300"],
        "explainer.shap.mask_value=300: must be a pixel value 0..255, blur(<k>,<k>), inpaint_telea or inpaint_ns",
    ),
    (
        ["explainer=shap", "explainer.shap.mask_value=smudge"],
        "explainer.shap.mask_value=smudge: allowed: a pixel value 0..255, blur(<k>,<k>), inpaint_telea or inpaint_ns",
    ),
    (["explainer=lime", "explainer.lime.n_images=0"], "explainer.lime.n_images=0: must be a positive integer"),
    (["explainer=lime", "explainer.lime.num_samples=0"], "explainer.lime.num_samples=0: must be a positive integer"),
    (
        ["explainer=lime", "explainer.lime.num_features=-1"],
        "explainer.lime.num_features=-1: must be null or a positive integer",
    ),
    (["explainer=lime", "explainer.lime.batch_size=0"], "explainer.lime.batch_size=0: must be a positive integer"),
    (
        ["explainer=lime", "explainer.lime.hide_color=-1"],
        "explainer.lime.hide_color=-1: must be null (superpixel mean) or a pixel value 0..255",
    ),
    (
        ["explainer=lime", "explainer.lime.segmentation.algorithm=watershed"],
        "explainer.lime.segmentation.algorithm=watershed: allowed: quickshift, slic, felzenszwalb",
    ),
    (["explainer=gradcam", "explainer.gradcam.n_images=0"], "explainer.gradcam.n_images=0: must be a positive integer"),
    (["explainer=gradcam", "explainer.gradcam.alpha=1.5"], "explainer.gradcam.alpha=1.5: must be a fraction in (0, 1)"),
    (
        ["explainer=feature_maps", "explainer.feature_maps.k=0"],
        "explainer.feature_maps.k=0: must be a positive integer",
    ),
    (
        ["explainer=feature_maps", "explainer.feature_maps.max_channels=0"],
        "explainer.feature_maps.max_channels=0: must be a positive integer",
    ),
    (
        ["explainer=feature_maps", "explainer.feature_maps.index=-1"],
        "explainer.feature_maps.index=-1: must be a test image index >= 0",
    ),
    (
        ["explainer=shap", "+explainer.shap.max_row=3"],
        "explainer.shap.max_row: no such key; did you mean explainer.shap.max_rows?",
    ),
]


@pytest.mark.parametrize(("overrides", "expected"), CONSTRAINTS, ids=[" ".join(o) for o, _ in CONSTRAINTS])
def test_each_constraint_rejects_a_bad_value_on_one_line(overrides, expected):
    with pytest.raises(ConfigError) as error:
        check_config(compose_config(*overrides))
    assert str(error.value) == expected


@pytest.mark.parametrize(
    "overrides",
    [
        [],
        [*HIGGS],
        [*MNIST],
        [*DIGITS],
        ["dataset=image_folder"],
        ["explainer=[permutation,integrated_gradients,shap,gradcam,lime,feature_maps]"],
        ["explainer=permutation", "explainer.permutation.max_samples=0.5"],
        ["explainer=permutation", "explainer.permutation.max_samples=20000"],
        ["trainer.steps_per_execution=8"],
        ["trainer.class_weight=null"],
        ["trainer.learning_rate=1"],
    ],
)
def test_good_values_pass(overrides):
    check_config(compose_config(*overrides))


def test_settings_are_checked_without_importing_keras():
    """check_config runs before the backend is chosen (image_folder's loader module imports Keras)."""
    import subprocess
    import sys

    code = (
        "import sys; sys.path.insert(0, 'tests'); from conftest import compose_config; "
        "from transferlab.config_checks import check_config; "
        "check_config(compose_config('dataset=image_folder', 'explainer=[gradcam,lime,shap]')); "
        "print('keras' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=str(__import__("conftest").REPO_ROOT)
    )
    assert result.stdout.strip() == "False", result.stderr[-2000:]


@pytest.mark.parametrize(
    "name", ["auto", "permutation", "integrated_gradients", "shap", "gradcam", "lime", "feature_maps", "modality"]
)
def test_each_explainer_takes_exactly_its_settings(name):
    """The class Hydra builds names its settings model and takes the same arguments, same defaults."""
    from hydra.utils import get_class

    from transferlab.explainers.settings import EXPLAINER_SETTINGS

    cfg = compose_config(f"explainer={name}")
    cls = get_class(cfg.explainer[name]._target_)
    assert cls.settings is EXPLAINER_SETTINGS[name]
    parameters = {p.name: p.default for p in list(inspect.signature(cls.__init__).parameters.values())[1:]}
    fields = {field: info.default for field, info in cls.settings.model_fields.items()}
    assert parameters == fields
    assert set(cfg.explainer[name]) - {"_target_"} == set(fields)


def test_permutation_f_beta_needs_a_binary_target():
    from transferlab.explainers.permutation import PermutationImportance

    import numpy as np
    import pandas as pd

    from model_inputs import table
    from transferlab.data.inputs import Examples
    from transferlab.data.prepared import PreparedData

    rows = Examples({"features": np.zeros((3, 2), "float32")}, np.arange(3))
    three_classes = PreparedData(rows, rows, rows, table(2), ["a", "b", "c"], {}, pd.DataFrame(), "test", "test")
    with pytest.raises(ConfigError) as error:
        PermutationImportance(scoring="f2").check(three_classes, None)
    assert str(error.value) == (
        "explainer.permutation.scoring=f2: F-beta needs a binary target, this one has 3 classes; "
        "use roc_auc, pr_auc, accuracy, balanced_accuracy, macro_f1, log_loss"
    )
    PermutationImportance(scoring="accuracy").check(three_classes, None)


# --- keys that do not exist ---------------------------------------------------------------------------

UNKNOWN_KEYS = [
    (["trainer.lr=-1"], "trainer.lr: no such key; did you mean trainer.learning_rate?"),
    (["trainr.epochs=2"], "trainr.epochs: no such key; did you mean trainer.epochs?"),
    (
        ["trainer.callbacks.early_stoping.patiense=3"],
        "trainer.callbacks.early_stoping.patiense: no such key; "
        "did you mean trainer.callbacks.early_stopping.patience?",
    ),
    (
        ["dataset.loader.target=x"],
        "dataset.loader.target: no such key for dataset=breast_cancer; "
        "did you mean dataset=csv (which has dataset.loader.target)?",
    ),
    (
        ["explainer=shap", "explainer.shap.max_row=3"],
        "explainer.shap.max_row: no such key; did you mean explainer.shap.max_rows?",
    ),
    (
        ["explainer.shap.max_row=3"],
        "explainer.shap.max_row: no such key for explainer=auto; "
        "did you mean explainer=shap (which has explainer.shap.max_rows)?",
    ),
    (["-m", "trainer.lr=1,2"], "trainer.lr: no such key; did you mean trainer.learning_rate?"),
    (
        ["-m", "model=cnn,mlp", "model.filters=[8]"],
        "model.filters: no such key for model=mlp; did you mean model=cnn (which has model.filters)?",
    ),
    (["~trainer.nope"], "trainer.nope: no such key"),
    (["--cfg", "job", "hydra.run.dirr=x"], "hydra.run.dirr: no such key; did you mean hydra.run.dir?"),
    (["-m", "experiment=pima_transfer,nope"], "experiment=nope: not an option; choose one of "),
    (["explainer=[shap,nope]"], "explainer=nope: not an option; choose one of "),
    (
        ["model=nope"],
        "model=nope: not an option; choose one of autoencoder, backbone, cnn, cnn_small, efficientnet_b0, fusion, "
        "mlp, mlp_100_64_32, mobilenet, mobilenet_025, mobilenet_v2, resnet50, resnet_mlp, text_bag, text_linear, "
        "vgg16",
    ),
]


@pytest.mark.parametrize(("argv", "expected"), UNKNOWN_KEYS, ids=[" ".join(a) for a, _ in UNKNOWN_KEYS])
def test_unknown_key_is_one_line_with_a_suggestion(argv, expected):
    with pytest.raises(ConfigError) as error, presets_of(argv):
        check_command_line(argv)
    assert str(error.value) == expected or expected.endswith("of ") and str(error.value).startswith(expected)
    assert isinstance(error.value, UnknownKeyError) or "not an option" in expected


@pytest.mark.parametrize(
    "argv",
    [
        ["+new.key=1"],
        ["++trainer.epochs=3"],
        ["-m", "trainer.seed=1,2", "model=mlp,autoencoder"],
        ["experiment=higgs_lora", "trainer.epochs=3"],
        ["dataset=csv", "dataset.loader.target=label"],
        ["-m", "hydra/launcher=joblib", "hydra.launcher.n_jobs=2", "trainer.seed=1,2"],
        ["hydra/job_logging=disabled"],
        ["--help"],
        ["~explainer"],
    ],
)
def test_existing_and_explicitly_added_keys_pass(argv):
    with presets_of(argv):
        check_command_line(argv)


def test_unknown_key_on_the_command_line_exits_2_on_one_line(run_cli, tmp_path):
    result = run_cli(*FAST, "trainer.lr=-1")
    assert result.returncode == 2, describe(result)
    assert result.stderr.splitlines() == ["error: trainer.lr: no such key; did you mean trainer.learning_rate?"], (
        describe(result)
    )
    assert all_runs(tmp_path) == [] and not (tmp_path / "mlflow.db").exists()


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["trainer.epochs=2"], []),
        (["experiment=higgs_lora", "trainer.epochs=3"], ["higgs_lora"]),
        (["-m", "experiment=pima_transfer,mnist_transfer"], ["pima_transfer", "mnist_transfer"]),
        (["--help"], None),
        (["--info", "defaults"], None),
        (["experiment=[unclosed"], None),
    ],
)
def test_a_job_registers_only_the_presets_it_selects(argv, expected):
    assert selected_experiments(argv) == expected
