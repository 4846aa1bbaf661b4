"""Images from the command line: the quick MNIST study end to end (real ImageNet MobileNet weights,
frozen / fine-tuned / LoRA, CNN from scratch), its report, and every image bad input."""

import numpy as np
import pytest

from conftest import (
    DATA_DIR,
    FAST,
    all_runs,
    artifact_paths,
    child_runs,
    describe,
    mlflow_client,
    parent_runs,
    rejection,
)

# The quick study shrunk: 200 training images, 3 epochs of 6 batches for the head, 1 for adaptation.
SHRUNK = (
    "dataset.split.subset=200",
    "trainer.epochs=3",
    "trainer.batch_size=32",
    "++strategy.stages.finetune.epochs=1",
    "++strategy.stages.lora.epochs=1",
    "explainer=none",
)
WEIGHTS = DATA_DIR / "keras_weights" / "mobilenet_2_5_224_tf_no_top.h5"


@pytest.mark.slow
def test_quick_mnist_study_and_report(run_cli, tmp_path):
    from transferlab.report import study_request, write_report
    from conftest import store_uri

    result = run_cli("experiment=mnist_transfer_quick", *SHRUNK)
    assert result.returncode == 0, describe(result)
    parents = {r.data.tags["arm"]: r for r in parent_runs(tmp_path)}
    assert sorted(parents) == ["cnn_scratch", "mobilenet_025_finetune", "mobilenet_025_frozen", "mobilenet_025_lora"]
    assert all(r.info.status == "FINISHED" for r in all_runs(tmp_path))

    def stages(arm):
        return sorted(c.data.tags["stage"] for c in child_runs(tmp_path, parents[arm]))

    # Pretrained backbones need no pretraining stage: a head on the frozen backbone, then adaptation.
    assert stages("cnn_scratch") == ["train"]
    assert stages("mobilenet_025_frozen") == ["frozen"]
    assert stages("mobilenet_025_finetune") == ["finetune", "frozen"]
    assert stages("mobilenet_025_lora") == ["frozen", "lora"]

    metrics = {arm: run.data.metrics for arm, run in parents.items()}
    assert parents["mobilenet_025_frozen"].data.tags["initial_weights"] == str(WEIGHTS)
    assert parents["cnn_scratch"].data.params["model.image_size"] == "32"
    # MobileNet v1 alpha 0.25 without top: 218,544 weights, of which 4,352 BatchNorm moving statistics.
    frozen, finetuned, lora = (metrics[f"mobilenet_025_{s}"] for s in ("frozen", "finetune", "lora"))
    head = 256 * 256 + 256 + 256 * 10 + 10
    assert frozen["trainable_params"] == head and frozen["total_params"] == 218_544 + head
    # Last 4 layers of MobileNet: conv_pw_13 (256x256 kernel) trains; its BatchNorm stays frozen.
    assert finetuned["trainable_params"] == head + 256 * 256
    assert 0 < lora["trainable_params"] < finetuned["trainable_params"]
    assert lora["lora_merge_max_abs_diff"] <= 1e-5 and lora["merged_total_params"] == frozen["total_params"]
    for arm, values in metrics.items():
        assert {"test_accuracy", "test_log_loss", "test_roc_auc", "frozen_fraction", "train_seconds"} <= set(values), (
            arm
        )
    # Real ImageNet features: three epochs of a head on 180 images beats chance (10 classes) clearly.
    assert frozen["test_accuracy"] > 0.3

    client = mlflow_client(tmp_path)
    artifacts = artifact_paths(client, parents["mobilenet_025_finetune"].info.run_id)
    assert {
        "evaluation/example_predictions.png",
        "evaluation/confusion_matrix.png",
        "training_curves/frozen.png",
        "training_curves/finetune.png",
    } <= artifacts

    text = write_report(study_request("mnist_transfer_quick"), store_uri(tmp_path), tmp_path)
    assert (tmp_path / "mnist_transfer_quick_curves.png").stat().st_size > 10_000  # read from the stage runs
    assert (tmp_path / "mnist_transfer_quick_test_accuracy.png").stat().st_size > 10_000
    row = next(line for line in text.splitlines() if line.startswith("| mobilenet_025_frozen |"))
    expected = frozen["trainable_params"] / (100 * frozen["test_accuracy"])
    assert f"{expected:,.0f}" in row and f"{frozen['train_seconds'] / 60:.4f}" in row
    assert "Not in this table" not in text


def test_report_names_the_arms_a_sweep_did_not_run():
    import pandas as pd

    from transferlab.report import study_request
    from transferlab.reporting.build import missing_groups_note

    ran = pd.Series(["cnn_scratch", "mobilenet_025_frozen", "mobilenet_025_finetune"])
    (note,) = missing_groups_note(ran, study_request("mnist_transfer").planned)
    assert note.endswith(": vgg16_frozen, resnet50_frozen, mobilenet_v2_frozen, vgg16_finetune.")
    assert missing_groups_note(ran, study_request("mnist_transfer_quick").planned) == [
        "Not in this table (no finished run in the selection): mobilenet_025_lora."
    ]


@pytest.mark.slow
def test_image_job_on_jax_logs_a_raw_pixel_model(run_cli, tmp_path):
    """digits + CNN on the JAX backend; the logged keras_model takes raw 0..255 pixels."""
    import mlflow

    result = run_cli("dataset=digits", "model=cnn", "explainer=none", "trainer.epochs=3", backend="jax")
    assert result.returncode == 0, describe(result)
    (run,) = parent_runs(tmp_path)
    assert run.data.tags["backend"] == "jax" and run.data.metrics["test_accuracy"] > 0.5
    client = mlflow_client(tmp_path)
    assert {m.name for m in client.search_logged_models([run.info.experiment_id])} == {
        "model",
        "keras_model",
        "encoder",
    }
    from transferlab.data.digits import load_digits_images

    mlflow.set_tracking_uri(f"sqlite:///{tmp_path}/mlflow.db")
    network = mlflow.keras.load_model(f"runs:/{run.info.run_id}/keras_model")
    images = load_digits_images().x[:50]
    assert network.input_shape[1:] == (8, 8, 1)
    probabilities = network.predict({"image": images}, verbose=0)
    assert np.allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    predictions = mlflow.pyfunc.load_model(f"runs:/{run.info.run_id}/model").predict({"image": images})
    assert list(predictions.columns) == [f"probability_{d}" for d in range(10)] + ["prediction"]
    np.testing.assert_allclose(predictions.iloc[:, :10].to_numpy(), probabilities, rtol=1e-5, atol=1e-6)


def one_class_folder(tmp_path):
    folder = tmp_path / "images" / "cat"
    folder.mkdir(parents=True)
    import PIL.Image

    PIL.Image.new("RGB", (8, 8)).save(folder / "a.png")
    return folder.parent


@pytest.mark.parametrize(
    ("overrides", "key", "value"),
    [
        pytest.param(
            ["dataset=mnist", "model=mobilenet", "model.image_size=null", "model.weights=null"],
            "model.image_size",
            "None",
            id="28x28-into-backbone",
        ),
        pytest.param(
            ["dataset=digits", "model=mobilenet", "strategy=frozen", "model.weights=/nonexistent/weights.h5"],
            "model.weights",
            "/nonexistent/weights.h5",
            id="missing-weights-file",
        ),
        pytest.param(
            ["dataset=digits", "model=mobilenet", "strategy=frozen", "model.alpha=0.5", f"model.weights={WEIGHTS}"],
            "model.weights",
            str(WEIGHTS),
            id="mismatched-weights-file",
        ),
        pytest.param(
            ["dataset=digits", "model=mobilenet_025", "strategy=finetune", "strategy.unfreeze=1000"],
            "strategy.unfreeze",
            "1000",
            id="unfreeze-too-many",
        ),
        pytest.param(
            ["dataset=digits", "model=vgg16", "model.weights=null", "strategy=frozen"],
            "strategy",
            "frozen",
            id="frozen-random-backbone",
        ),
        pytest.param(["dataset=digits"], "model", "mlp", id="table-model-on-images"),
        pytest.param(
            ["dataset=digits", "model=cnn", "model.filters=[]", "explainer=gradcam"],
            "explainer.gradcam.layer",
            "",
            id="gradcam-without-conv",
        ),
        pytest.param(
            ["dataset=digits", "model=cnn", "explainer=permutation"],
            "explainer",
            "permutation",
            id="permutation-on-images",
        ),
        pytest.param(["dataset=mnist", "dataset.split.subset=5"], "dataset.split.subset", "5", id="subset-too-small"),
        pytest.param(["dataset=image_folder"], "dataset.loader.path", "None", id="image-folder-unset"),
    ],
)
def test_bad_image_input_is_rejected(tmp_path, overrides, key, value):
    line = rejection(tmp_path, *FAST, "explainer=none", *overrides)  # in-process; no run started
    assert line.startswith(f"error: {key}=") and value in line, line


def test_image_folder_with_one_class_is_rejected(tmp_path):
    folder = one_class_folder(tmp_path)
    line = rejection(
        tmp_path, *FAST, "dataset=image_folder", f"dataset.loader.path={folder}", "model=cnn", "explainer=none"
    )
    assert line.startswith(f"error: dataset.loader.path={folder}: found 1 class: cat"), line


def test_image_folder_with_an_unreadable_file_is_rejected(tmp_path):
    folder = one_class_folder(tmp_path)
    (folder / "dog").mkdir()
    (folder / "dog" / "broken.png").write_bytes(b"not an image")
    line = rejection(
        tmp_path, *FAST, "dataset=image_folder", f"dataset.loader.path={folder}", "model=cnn", "explainer=none"
    )
    assert line.startswith(f"error: dataset.loader.path={folder}") and "broken.png" in line, line
