"""The default explainer, auto, fits the data: permutation importance on a table (scoring auto: F2
for a binary target, macro-F1 for several classes), Grad-CAM on images when the model has a
convolutional layer (else integrated gradients), modality attribution for several inputs. It picks
before training and the run records its pick (tag explainer.auto); explicitly chosen explainers
keep refusing what does not fit them."""

import keras
import numpy as np
import pytest
from sklearn.datasets import load_iris

from conftest import FAST, artifact_paths, compose_config, mlflow_client, parent_runs
from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import classification_metrics, probability_scorer
from transferlab.explainers.auto import AutoExplainer
from transferlab.explainers.permutation import PermutationImportance
from transferlab.explainers.settings import SCORINGS

from multimodal import two_input_data, two_input_model
from test_image_explainers import TABLE, context, dense_only, prepared, random_images, tiny_cnn


def test_auto_is_the_default_explainer():
    assert list(compose_config().explainer) == ["auto"]


def table_network() -> keras.Model:
    inputs = keras.Input((5,), name="features")
    return keras.Model(inputs, keras.layers.Dense(1, activation="sigmoid", name="output")(inputs))


IMAGES = prepared(random_images(12), np.arange(12) % 10)


@pytest.mark.parametrize(
    ("case", "choice", "figure"),
    [
        ("table", "permutation", "importance.png"),
        ("images-conv", "gradcam", "gradcam.png"),
        ("images-dense", "integrated_gradients", "integrated_gradients.png"),
        ("two-inputs", "modality", "modality.png"),
    ],
)
def test_auto_picks_an_explainer_that_fits_the_inputs_and_the_model(case, choice, figure):
    model = {"table": table_network, "images-conv": tiny_cnn, "images-dense": dense_only}.get(case, two_input_model)()
    data = {"table": TABLE, "images-conv": IMAGES, "images-dense": IMAGES}.get(case) or two_input_data(model)
    auto = AutoExplainer()
    auto.check(data, model)
    assert auto.choice == choice
    explanation = auto.explain(context(model, data))
    assert set(explanation.figures) == {figure} and len(explanation.table) > 0
    assert explanation.tags == {"explainer.auto": choice}


def test_permutation_scoring_auto_fits_the_task_and_f_beta_still_refuses_several_classes():
    three_classes = prepared(TABLE.test.inputs["features"], TABLE.test.labels % 3, n_classes=3)
    assert PermutationImportance().scoring == "auto"
    PermutationImportance().check(three_classes, None)
    assert PermutationImportance().scoring_for(2) == "f2"
    assert PermutationImportance().scoring_for(3) == "macro_f1"
    assert PermutationImportance(scoring="roc_auc").scoring_for(3) == "roc_auc"
    with pytest.raises(ConfigError) as error:
        PermutationImportance(scoring="f2").check(three_classes, None)
    assert str(error.value).startswith("explainer.permutation.scoring=f2: F-beta needs a binary target")


@pytest.mark.parametrize("n_classes", [2, 3])
def test_each_scoring_computes_the_value_the_run_logs_under_its_name(n_classes):
    """probability_scorer(name) (permutation importance, deletion curves) computes only that metric,
    equal to classification_metrics' (log_loss negated: higher is better)."""
    rng = np.random.default_rng(n_classes)
    labels = np.arange(60) % n_classes
    guesses = np.eye(n_classes)[rng.integers(0, n_classes, 60)]
    probabilities = 0.5 * guesses + 0.5 * rng.dirichlet(np.ones(n_classes), 60)
    logged = classification_metrics(labels, probabilities, "m")
    for name in SCORINGS:
        sign = -1 if name == "log_loss" else 1
        assert probability_scorer(name)(labels, probabilities) == pytest.approx(sign * logged[f"m_{name}"], abs=1e-12)


@pytest.fixture
def iris_csv(tmp_path):
    """sklearn's iris (150 rows, 3 classes) as a user's CSV."""
    iris = load_iris(as_frame=True)
    frame = iris.frame.assign(species=[iris.target_names[k] for k in iris.target]).drop(columns="target")
    path = tmp_path / "iris.csv"
    frame.to_csv(path, index=False)
    return path


# A table explanation's importance also gets a deletion curve (explainers/comparison.py).
DELETION = {"explanations/comparison/deletion.csv", "explanations/comparison/deletion.png"}
AUTO_IMPORTANCE = {"explanations/auto/importance.png", "explanations/auto/importance.csv"}


def auto_run(compose, run_job, tmp_path, *overrides) -> tuple[dict, set[str]]:
    """Run a default-explainer job; return its tags and its explanation artifacts."""
    run_job(compose(*FAST, *overrides))
    [run] = parent_runs(tmp_path)
    assert run.info.status == "FINISHED"
    artifacts = artifact_paths(mlflow_client(tmp_path), run.info.run_id, "explanations")
    return run.data.tags, artifacts


@pytest.mark.slow  # ~25 s; the fast lane's default CLI job (test_cli_runs) runs it too
def test_default_explainer_on_a_binary_table(compose, run_job, tmp_path):
    tags, artifacts = auto_run(compose, run_job, tmp_path)
    assert tags["explainer"] == "auto" and tags["explainer.auto"] == "permutation"
    assert artifacts == {"explanations/auto/auto.csv", *AUTO_IMPORTANCE, *DELETION}


@pytest.mark.slow
def test_default_explainer_on_a_multiclass_csv(compose, run_job, tmp_path, iris_csv):
    """Failed before any run with `explainer.permutation.scoring=f2: F-beta needs a binary target`."""
    tags, artifacts = auto_run(
        compose, run_job, tmp_path, "dataset=csv", f"dataset.loader.path={iris_csv}", "dataset.loader.target=species"
    )
    assert tags["explainer.auto"] == "permutation"
    assert artifacts == {"explanations/auto/auto.csv", *AUTO_IMPORTANCE, *DELETION}


@pytest.mark.slow  # ~25 s
def test_default_explainer_on_digit_images(compose, run_job, tmp_path):
    """Failed before any run with `explainer=permutation: works on tables`."""
    tags, artifacts = auto_run(compose, run_job, tmp_path, "dataset=digits", "model=cnn")
    assert tags["explainer.auto"] == "gradcam"
    assert artifacts == {"explanations/auto/auto.csv", "explanations/auto/gradcam.png"}
