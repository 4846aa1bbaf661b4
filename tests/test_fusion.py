"""Multimodal fusion (seed 002): model=fusion with strategy=early_fusion and late_fusion, on a
hand-built two-input dataset (HAM10000 metadata table + 28x28 RGB image from tests/data), on the
two-table-input Pima from run.py, and bad inputs as one-line errors."""

from dataclasses import dataclass, replace

import keras
import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from conftest import (
    DATA_DIR,
    FAST,
    PIMA_CSV,
    child_runs,
    compose_config,
    describe,
    parent_runs,
    rejection,
    run_python,
    migrated_store_uri,
)
from fusion_data import fusion_model, ham_data, settings_for
from transferlab.data.inputs import Examples, InputKind
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import class_probabilities, predict_array
from transferlab.models.backbones import KerasBackbone
from transferlab.models.cnn import CNN
from transferlab.models.fusion import Fusion, feature_extractor
from transferlab.models.mlp import MLP
from transferlab.strategies import early_fusion, late_fusion
from transferlab.strategies.early_fusion import EarlyFusion
from transferlab.strategies.late_fusion import LateFusion
from transferlab.tracking.models import log_models

TWO_INPUTS = (
    "dataset=pima",
    "dataset.inputs={vitals:[Glucose,BloodPressure,BMI,SkinThickness,Insulin],"
    "history:[Pregnancies,Age,DiabetesPedigreeFunction]}",
)


@pytest.fixture(scope="module")
def data():
    return ham_data()


@pytest.fixture
def store(tmp_path):
    """A tmp MLflow store with an active parent run, as run_job has when a strategy trains."""
    mlflow.set_tracking_uri(migrated_store_uri(tmp_path))
    # An explicit experiment: an earlier test in this process may have left another store's active.
    with mlflow.start_run(experiment_id=mlflow.set_experiment("fusion_tests").experiment_id) as run:
        yield run
    mlflow.set_tracking_uri(None)


def stage_runs(parent) -> list[str]:
    client = mlflow.MlflowClient()
    children = client.search_runs([parent.info.experiment_id], f"tags.mlflow.parentRunId = '{parent.info.run_id}'")
    return sorted(run.info.run_name for run in children)


def snapshot_before_fusion(monkeypatch, module, layer: str) -> dict:
    """Patch `module.fit_classifier` to copy the weights of `layer` of the model trained in stage "fusion" first."""
    before, fit = {}, module.fit_classifier

    def fit_after_copy(model, stage, *args, **kwargs):
        if stage == "fusion":
            before["weights"] = [w.copy() for w in model.get_layer(layer).get_weights()]
            before["output"] = [w.copy() for w in model.get_layer("output").get_weights()]
        return fit(model, stage, *args, **kwargs)

    monkeypatch.setattr(module, "fit_classifier", fit_after_copy)
    return before


def same_weights(first, second) -> bool:
    return len(first) == len(second) and all(np.array_equal(a, b) for a, b in zip(first, second))


def test_fusion_model_builds_one_branch_per_input_and_fuses_their_feature_layers(data):
    fusion = fusion_model()
    fusion.check(data.specs)
    branch = fusion.build_branch(data.specs["image"], 7)
    # The branch is the image model's own single-input classifier; its features are its output layer's input.
    assert [t.name for t in branch.classifier.inputs] == ["image"] and branch.classifier.output.shape == (None, 7)
    assert branch.features().output is branch.classifier.get_layer("output").input
    classifier = fusion.build_classifier(data.specs, 7)
    assert sorted(t.name for t in classifier.inputs) == ["image", "metadata"] and classifier.output.shape == (None, 7)
    encoder = classifier.get_layer("encoder")
    assert encoder.output.shape == (None, 8 + 16)  # MLP's last hidden layer + the CNN's Dense 16
    head_input = keras.Model(classifier.inputs, classifier.get_layer("head_0").input)
    assert np.array_equal(predict_array(head_input, data.test.inputs), predict_array(encoder, data.test.inputs))


def test_the_yaml_builds_seed_002s_branches_and_a_branch_swaps_with_one_override():
    from transferlab.cli import check_command_line
    from transferlab.pipeline import build_model

    fusion = build_model(compose_config("model=fusion").model)
    table, image = fusion.branches[InputKind.TABLE], fusion.branches[InputKind.IMAGE]
    assert (table.hidden_units, table.dropout, image.name, fusion.head_units) == ([100, 64, 32], 0.0, "cnn", [128, 64])
    swap = ["model=fusion", "model@model.branches.image=mobilenet_025"]
    check_command_line(swap)  # what run.py checks first
    image = build_model(compose_config(*swap).model).branches[InputKind.IMAGE]
    assert isinstance(image, KerasBackbone) and (image.architecture, image.alpha) == ("mobilenet", 0.25)


def test_early_fusion_joint_trains_everything_in_one_stage(data, store):
    trained = EarlyFusion(branches="joint").train(fusion_model(), data, settings_for)
    assert list(trained.stage_metrics) == ["fusion"] and stage_runs(store) == ["fusion"]
    assert trained.classifier.output.shape == (None, 7) and len(trained.classifier.inputs) == 2
    assert trained.stage_metrics["fusion"]["trainable_params"] == trained.classifier.count_params()
    assert class_probabilities(trained.classifier, data.test.inputs).shape == (60, 7)


@pytest.mark.parametrize("finetune", [False, pytest.param(True, marks=pytest.mark.slow)])
def test_early_fusion_pretrained_trains_branches_then_the_head_on_frozen_branches(data, store, monkeypatch, finetune):
    before = snapshot_before_fusion(monkeypatch, early_fusion, "encoder")
    trained = EarlyFusion(finetune_branches=finetune).train(fusion_model(), data, settings_for)
    assert list(trained.stage_metrics) == ["branch_metadata", "branch_image", "fusion"]
    assert stage_runs(store) == ["branch_image", "branch_metadata", "fusion"]
    assert trained.encoder is trained.classifier.get_layer("encoder")
    # The head sees the branches' feature layers (the input of each branch classifier's output layer).
    for name, width in (("metadata", 8), ("image", 16)):
        assert trained.encoder.get_layer(f"{name}_features").output.shape == (None, width)
    assert not same_weights(before["output"], trained.classifier.get_layer("output").get_weights())
    assert same_weights(before["weights"], trained.encoder.get_weights()) is not finetune
    frozen = trained.stage_metrics["fusion"]["trainable_params"] < trained.classifier.count_params()
    assert frozen is not finetune


def log_source_run(data: PreparedData, name: str, class_names=None) -> tuple[str, object]:
    """A single-modality run on input `name`, logged as a run would log it; its run id and network."""
    single = data.with_inputs([name])
    single = replace(single, class_names=class_names or single.class_names)
    classifier = CNN(filters=[8, 16], dense_units=[16]).build_classifier(single.specs, single.n_classes)
    with mlflow.start_run(nested=True) as run:
        log_models(classifier, None, single)
    return run.info.run_id, classifier


def test_a_source_run_supplies_a_branch_without_its_stage(data, store):
    run_id, source = log_source_run(data, "image")
    trained = EarlyFusion(sources={"image": {"run_id": run_id}}).train(fusion_model(), data, settings_for)
    assert list(trained.stage_metrics) == ["branch_metadata", "fusion"]
    images = {"image": data.test.inputs["image"]}
    expected = predict_array(feature_extractor(source, "source"), images)
    assert np.allclose(predict_array(trained.encoder.get_layer("image_features"), images), expected, atol=1e-6)


def test_a_source_trained_on_other_classes_is_refused(data, store):
    run_id, _ = log_source_run(data, "image", class_names=[name.upper() for name in data.class_names])
    with pytest.raises(ConfigError) as caught:
        LateFusion(sources={"image": {"run_id": run_id}}).check(fusion_model(), data)
    assert str(caught.value) == (
        f"strategy.sources.image.run_id={run_id}: trained on classes [AKIEC, BCC, BKL, DF, MEL, NV, VASC], "
        "the dataset has [akiec, bcc, bkl, df, mel, nv, vasc]"
    )


def branch_probabilities(model, examples: Examples) -> dict[str, np.ndarray]:
    """Each branch of a late-fusion model on its own input: its class probabilities."""
    return {
        name: class_probabilities(model.get_layer(f"branch_{name}"), {name: examples.inputs[name]})
        for name in examples.inputs
    }


def expected_combination(combiner: str, trained, data: PreparedData) -> np.ndarray:
    """The combined test probabilities computed here from the branches, with scikit-learn."""
    model = trained.classifier
    val, test = branch_probabilities(model, data.val), branch_probabilities(model, data.test)
    if combiner == "stacked":  # fitted on the branches' raw outputs: the positive class's probability when binary
        columns = slice(1, None) if data.n_classes == 2 else slice(None)
        features = {
            split: np.hstack([p[:, columns] for p in probs.values()]) for split, probs in (("val", val), ("test", test))
        }
        stacker = LogisticRegression(max_iter=1000, class_weight="balanced").fit(features["val"], data.val.labels)
        return stacker.predict_proba(features["test"])
    if combiner == "mean":
        weights = {name: 0.5 for name in test}
    else:
        scores = {name: f1_score(data.val.labels, p.argmax(axis=1), average="macro") for name, p in val.items()}
        weights = {name: score / sum(scores.values()) for name, score in scores.items()}
        assert trained.metrics == pytest.approx({f"late_fusion_weight_{name}": w for name, w in weights.items()})
    return sum(weights[name] * test[name] for name in test)


@dataclass
class HeadTraining:
    """A late-fusion model trained with the head combiner, the weights of its image branch and output
    layer just before the fusion stage, and its stage runs."""

    trained: object
    before: dict
    stages: list[str]


def train_late_fusion_head(data: PreparedData) -> HeadTraining:
    """LateFusion() (combiner head) trained inside the active MLflow run."""
    with pytest.MonkeyPatch.context() as monkeypatch:
        before = snapshot_before_fusion(monkeypatch, late_fusion, "branch_image")
        trained = LateFusion().train(fusion_model(), data, settings_for)
    return HeadTraining(trained, before, stage_runs(mlflow.active_run()))


@pytest.fixture(scope="module")
def branch_sources(tmp_path_factory):
    """For each task (7-class, binary): its data, its two branches trained once (late fusion's
    branch stages) and saved as .keras sources, which the combiner tests combine without training,
    and for 7 classes the whole late fusion with the head combiner whose branches they are
    (test_late_fusion_head_trains_on_frozen_branches)."""
    folder = tmp_path_factory.mktemp("sources")
    mlflow.set_tracking_uri(migrated_store_uri(folder))
    tasks = {}
    with mlflow.start_run(experiment_id=mlflow.set_experiment("fusion_sources").experiment_id):
        for binary in (False, True):
            data = ham_data(binary)
            with mlflow.start_run(nested=True):  # a parent per task, whose stage runs are its training's
                if binary:
                    head, trained = None, LateFusion(combiner="mean").train(fusion_model(), data, settings_for)
                else:
                    head = train_late_fusion_head(data)
                    trained = head.trained
            sources = {}
            for name in data.specs:
                path = folder / f"{name}_{len(data.class_names)}.keras"
                trained.classifier.get_layer(f"branch_{name}").save(path)
                sources[name] = {"model_uri": str(path)}
            tasks[binary] = (data, sources, head)
    mlflow.set_tracking_uri(None)
    return tasks


@pytest.mark.parametrize("binary", [False, True], ids=["7-class", "binary"])
@pytest.mark.parametrize("combiner", ["stacked", "mean", "weighted"])
def test_late_fusion_combiners_compute_their_rule_with_one_output_per_class(branch_sources, combiner, binary):
    data, sources, _ = branch_sources[binary]
    trained = LateFusion(combiner=combiner, sources=sources).train(fusion_model(), data, settings_for)
    assert trained.stage_metrics == {} and trained.encoder is None  # both branches from their sources
    model = trained.classifier
    assert model.output.shape == (None, 1 if binary else 7)  # classification_output's convention
    assert model.trainable_weights == []
    outputs = predict_array(model, data.test.inputs)
    assert binary or np.allclose(outputs.sum(axis=1), 1, atol=1e-5)  # probabilities as they are, not renormalised
    probabilities = class_probabilities(model, data.test.inputs)
    assert probabilities.shape == (60, data.n_classes)
    assert np.allclose(probabilities, expected_combination(combiner, trained, data), atol=1e-5)


def test_stacking_needs_every_class_in_the_validation_split(data):
    thin = replace(data, val=data.val.take(np.flatnonzero(data.val.labels != 0)))
    with pytest.raises(ConfigError) as caught:
        LateFusion(combiner="stacked").check(fusion_model(), thin)
    assert str(caught.value) == (
        "strategy.combiner=stacked: the validation split has no rows of class akiec; "
        "the logistic regression needs every class (choose head, mean or weighted)"
    )


def test_an_imagenet_backbone_branch_trains_only_its_last_layers(data):
    weights = DATA_DIR / "keras_weights" / "mobilenet_2_5_224_tf_no_top.h5"
    image = KerasBackbone("mobilenet", weights=str(weights), alpha=0.25, image_size=32, dense_units=[8])
    fusion = Fusion({"table": MLP(hidden_units=[8]), "image": image})
    branch = EarlyFusion(branch_unfreeze=3).starting_branches(fusion, data)["image"]
    body = branch.encoder.get_layer("mobilenet")
    assert not any(layer.trainable for layer in body.layers[:-3])
    assert [layer.name for layer in body.layers[-3:] if layer.trainable] == ["conv_pw_13", "conv_pw_13_relu"]
    assert branch.classifier.get_layer("output").trainable  # the branch's own head trains
    with pytest.raises(ConfigError) as caught:
        EarlyFusion(branch_unfreeze=1000).check(fusion, data)
    assert str(caught.value) == (
        "strategy.branch_unfreeze=1000: must be all or an integer from 1 to 86, the number of layers of mobilenet"
    )


@pytest.mark.parametrize("binary", [False, pytest.param(True, marks=pytest.mark.slow)], ids=["7-class", "binary"])
def test_late_fusion_head_trains_on_frozen_branches(request, binary):
    """7 classes: the training of branch_sources (whose branches the combiner tests reuse)."""
    if binary:
        request.getfixturevalue("store")
        data = ham_data(binary)
        head = train_late_fusion_head(data)
    else:
        data, _, head = request.getfixturevalue("branch_sources")[binary]
    trained, before = head.trained, head.before
    assert list(trained.stage_metrics) == ["branch_metadata", "branch_image", "fusion"]
    assert head.stages == ["branch_image", "branch_metadata", "fusion"]
    model = trained.classifier
    assert model.output.shape == (None, 1 if binary else 7)  # seed 002's head had 3 outputs for 7 classes
    assert class_probabilities(model, data.test.inputs).shape == (60, data.n_classes)
    assert same_weights(before["weights"], model.get_layer("branch_image").get_weights())
    assert not same_weights(before["output"], model.get_layer("output").get_weights())
    trainable = trained.stage_metrics["fusion"]["trainable_params"]
    assert (
        trainable
        == model.get_layer("output").count_params()
        == (2 if binary else 14) * (1 if binary else 7) + (1 if binary else 7)
    )


@pytest.mark.parametrize(
    ("strategy", "options", "message"),
    [
        (EarlyFusion, {"branches": "both"}, "strategy.branches=both: allowed: joint, pretrained"),
        (LateFusion, {"combiner": "vote"}, "strategy.combiner=vote: allowed: head, stacked, mean, weighted"),
        (LateFusion, {"branch_unfreeze": 0}, "strategy.branch_unfreeze=0: must be all or a positive integer"),
        (
            EarlyFusion,
            {"branches": "joint", "sources": {"image": {"run_id": "abc"}}},
            "strategy.sources=image: needs strategy.branches=pretrained "
            "(joint trains every branch from random weights)",
        ),
    ],
)
def test_bad_fusion_options(strategy, options, message):
    with pytest.raises(ConfigError) as caught:
        strategy(**options)
    assert str(caught.value) == message


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (
            ["model=fusion", "strategy=early_fusion"],
            "error: model=fusion: needs several inputs, one branch each; the dataset has one: features (table, 30) "
            "(choose a multimodal dataset, or group a table's columns with dataset.inputs)",
        ),
        (
            ["strategy=late_fusion"],
            "error: strategy=late_fusion: needs model=fusion (one branch per input); model=mlp is not a fusion model",
        ),
        (
            [*TWO_INPUTS, "model=fusion", "model@model.branches.table=cnn", "strategy=late_fusion"],
            "error: model.branches.table=cnn: takes image inputs, but the dataset's input is vitals (table, 5); "
            "choose mlp, autoencoder or resnet_mlp",
        ),
        (
            [*TWO_INPUTS, "model=fusion", "strategy=early_fusion", "+strategy.sources.image.run_id=abc"],
            "error: strategy.sources=image: not an input of the dataset; inputs: vitals, history",
        ),
    ],
    ids=["single-input-dataset", "not-the-fusion-model", "branch-of-another-kind", "source-of-no-input"],
)
def test_fusion_misconfigurations_are_rejected(tmp_path, overrides, expected):
    assert rejection(tmp_path, *FAST, "explainer=none", *overrides) == expected


@pytest.mark.slow
def test_a_source_run_of_another_class_list_is_rejected(tmp_path, compose, run_job):
    csv = tmp_path / "diabetes_named.csv"
    frame = pd.read_csv(PIMA_CSV)
    frame.assign(Outcome=frame.Outcome.map({0: "no", 1: "yes"})).to_csv(csv, index=False)
    vitals = "[Glucose,BloodPressure,BMI,SkinThickness,Insulin]"
    source = (
        "dataset=csv",
        f"dataset.loader.path={csv}",
        "dataset.loader.target=Outcome",
        f"dataset.loader.features={vitals}",
    )
    run_job(compose(*source, "explainer=none", "trainer.epochs=1", "tracking.experiment=pima"))
    (run,) = parent_runs(tmp_path)
    line = rejection(
        tmp_path,
        *FAST,
        *TWO_INPUTS,
        "model=fusion",
        "strategy=late_fusion",
        "explainer=none",
        f"+strategy.sources.vitals.run_id={run.info.run_id}",
    )
    assert line == (
        f"error: strategy.sources.vitals.run_id={run.info.run_id}: trained on classes [no, yes], the dataset has [0, 1]"
    )


@pytest.mark.slow
def test_fusion_strategies_run_end_to_end_from_the_cli(run_cli, tmp_path):
    result = run_cli(
        "-m", *TWO_INPUTS, "model=fusion", "strategy=early_fusion,late_fusion", "explainer=none", "trainer.epochs=2"
    )
    assert result.returncode == 0, describe(result)
    runs = {run.data.tags["strategy"]: run for run in parent_runs(tmp_path)}
    assert set(runs) == {"early_fusion", "late_fusion"}
    for strategy, run in runs.items():
        assert run.info.status == "FINISHED" and run.data.tags["model"] == "fusion"
        stages = sorted(child.data.tags["stage"] for child in child_runs(tmp_path, run))
        assert stages == ["branch_history", "branch_vitals", "fusion"], strategy
    mlflow.set_tracking_uri(migrated_store_uri(tmp_path))
    raw = pd.read_csv(PIMA_CSV).drop(columns="Outcome").head(4)
    for run in runs.values():
        predictions = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict(raw)
        assert list(predictions.columns) == ["probability_0", "probability_1", "prediction"]
    encoder = mlflow.keras.load_model(f"runs:/{runs['early_fusion'].info.run_id}/encoder")
    assert sorted(tensor.name for tensor in encoder.inputs) == ["history", "vitals"]


JAX_SCRIPT = """
import sys
sys.path.insert(0, "tests")
import mlflow, tempfile
import fusion_data as t
from transferlab.evaluation.metrics import class_probabilities
from transferlab.strategies.early_fusion import EarlyFusion
from transferlab.strategies.late_fusion import LateFusion
mlflow.set_tracking_uri(f"sqlite:///{tempfile.mkdtemp()}/mlflow.db")
data = t.ham_data()
with mlflow.start_run():
    for strategy in (EarlyFusion(), LateFusion(combiner="stacked")):
        trained = strategy.train(t.fusion_model(), data, t.settings_for)
        print(class_probabilities(trained.classifier, data.test.inputs).shape)
"""


@pytest.mark.slow
def test_fusion_trains_on_jax():
    assert run_python("-c", JAX_SCRIPT).split() == ["(60,", "7)"] * 2
