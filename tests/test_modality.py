"""Explainers on a model of two inputs (a metadata table and an image, as HAM10000's fusion models):
the modality explainer, SHAP / permutation / IG on the table input with the image held, Grad-CAM on
the image input, and the one-line errors when the input to explain is ambiguous or missing."""

import numpy as np
import pandas as pd
import pytest

from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import class_probabilities
from transferlab.explainers.base import ExplainContext
from transferlab.explainers.gradcam import GradCAM
from transferlab.explainers.integrated_gradients import IntegratedGradients
from transferlab.explainers.modality import ModalityContributions
from transferlab.explainers.permutation import PermutationImportance
from transferlab.explainers.shap_values import ShapValues

from multimodal import two_input_data, two_input_model
from test_image_explainers import TABLE, TWO_INPUTS


@pytest.fixture(scope="module")
def metadata_only():
    """A model whose image branch has zero weights: its output depends on the metadata only."""
    model = two_input_model(image_weight="zeros")
    return model, two_input_data(model)


@pytest.fixture(scope="module")
def fusion():
    model = two_input_model(seed=1)
    return model, two_input_data(model)


def context(model, data, seed: int = 0) -> ExplainContext:
    return ExplainContext(model, data, np.linspace(0.1, 0.9, 9), seed)


@pytest.mark.parametrize("ablation", ["shuffle", "mean"])
def test_an_ignored_input_contributes_nothing_and_the_used_one_everything(metadata_only, ablation):
    model, data = metadata_only
    explanation = ModalityContributions(ablation=ablation, n_repeats=3, steps=16).explain(context(model, data))
    table = explanation.table.set_index("input")
    assert list(explanation.table.columns) == [
        "input",
        "kind",
        "macro_f1_drop",
        "balanced_accuracy_drop",
        "ig_share",
    ]
    assert table.kind.to_dict() == {"metadata": "table", "image": "image"}
    assert table.loc["image", ["macro_f1_drop", "balanced_accuracy_drop", "ig_share"]].abs().max() < 1e-6
    assert table.loc["metadata", "macro_f1_drop"] > 0.3 and table.loc["metadata", "balanced_accuracy_drop"] > 0.3
    assert table.loc["metadata", "ig_share"] == pytest.approx(1.0)
    assert explanation.metrics == {
        "modality_metadata_macro_f1_drop": table.loc["metadata", "macro_f1_drop"],
        "modality_metadata_ig_share": table.loc["metadata", "ig_share"],
        "modality_image_macro_f1_drop": table.loc["image", "macro_f1_drop"],
        "modality_image_ig_share": table.loc["image", "ig_share"],
    }
    assert list(explanation.figures) == ["modality.png"]


def test_both_inputs_of_a_fusion_model_get_a_share(fusion):
    model, data = fusion
    explanation = ModalityContributions(n_repeats=2, steps=16).explain(context(model, data))
    shares = explanation.table.set_index("input").ig_share
    assert shares.sum() == pytest.approx(1.0) and (shares > 0.05).all()


def test_modality_needs_several_inputs():
    with pytest.raises(ConfigError) as error:
        ModalityContributions().check(TABLE, None)
    assert str(error.value) == (
        "explainer=modality: needs a dataset with several inputs; this one has one: features (table, 5)"
    )


@pytest.mark.slow
def test_shap_on_the_table_input_adds_up_with_each_rows_own_image(fusion):
    model, data = fusion
    explainer = ShapValues(max_rows=5, background_rows=20)
    assert explainer.explained(data).name == "metadata"  # the one table input, by default
    values = explainer.table_values(context(model, data), "metadata")
    assert values.values.shape == (5, 4, 3)  # rows, metadata features, classes
    probabilities = class_probabilities(model, data.test.head(5).inputs)  # the rows' own images
    np.testing.assert_allclose(values.values.sum(axis=1) + values.base_values, probabilities, atol=1e-5)
    explanation = explainer.explain(context(model, data))
    assert explanation.table.feature.tolist() != [] and set(explanation.table.feature) == {"f0", "f1", "f2", "f3"}


def test_permutation_and_ig_explain_the_table_input_with_the_image_held(metadata_only):
    model, data = metadata_only
    permutation = PermutationImportance(scoring="accuracy", n_repeats=2, max_samples=40).explain(context(model, data))
    assert set(permutation.table.feature) == {"f0", "f1", "f2", "f3"}
    assert permutation.table.importance_mean.max() > 0.05  # the model uses its metadata
    ig = IntegratedGradients(steps=64, max_rows=10).explain(context(model, data))
    assert set(ig.table.feature) == {"f0", "f1", "f2", "f3"}
    assert ig.metrics["ig_completeness_gap_max"] < 1e-3


def test_permutation_scores_each_sampled_row_with_its_own_image(fusion):
    """scikit-learn samples and shuffles the table's rows; the image rows follow them (by index)."""
    model, data = fusion
    rows = np.arange(data.test.n_rows)[::-3]  # a subsample, out of order
    x = pd.DataFrame(data.test.inputs["metadata"], columns=list(data.specs["metadata"].columns)).iloc[rows]
    scorer = PermutationImportance(scoring="accuracy").scorer(context(model, data), "metadata")
    assert scorer(model, x, data.test.labels[rows]) == 1.0  # the model is right on every test row


def test_ig_explains_the_image_input_when_chosen(fusion):
    model, data = fusion
    explanation = IntegratedGradients(steps=16, n_images=2, input="image").explain(context(model, data))
    assert list(explanation.figures) == ["integrated_gradients.png"] and len(explanation.table) == 2


def test_gradcam_explains_the_image_input_of_a_two_input_model(fusion):
    model, data = fusion
    explainer = GradCAM(n_images=4)
    explainer.check(data, model)
    explanation = explainer.explain(context(model, data))
    assert len(explanation.table) == 4 and (explanation.table.layer == "conv").all()
    assert list(explanation.figures) == ["gradcam.png"]


@pytest.mark.parametrize(
    ("explainer", "expected"),
    [
        (ShapValues(input="image"), "explainer.shap.input=image: SHAP explains a table input of a model of several"),
        (ShapValues(input="photo"), "explainer.shap.input=photo: not an input of this dataset; its inputs: image"),
        (
            PermutationImportance(input="image"),
            "explainer.permutation.input=image: input of kind image; permutation explains tables",
        ),
    ],
    ids=["shap-image", "shap-unknown", "permutation-image"],
)
def test_a_chosen_input_that_cannot_be_explained_is_one_line(explainer, expected):
    with pytest.raises(ConfigError) as error:
        explainer.check(TWO_INPUTS, None)
    assert str(error.value).startswith(expected) and "\n" not in str(error.value)


def backend_numbers() -> dict[str, np.ndarray]:
    """Modality drops and shares, SHAP values of the table input and Grad-CAM maps of the fusion model."""
    model = two_input_model(seed=1)
    data = two_input_data(model)
    modality = ModalityContributions(ablation="mean", steps=16).explain(context(model, data)).table
    shap_values = ShapValues(max_rows=3, background_rows=10).table_values(context(model, data), "metadata").values
    explainer = GradCAM(n_images=2)
    explainer.explain(context(model, data))
    return {"modality": modality[["macro_f1_drop", "ig_share"]].to_numpy(), "shap": shap_values}


@pytest.mark.slow
def test_the_two_input_explainers_run_on_jax():
    from conftest import run_python

    assert "ok backend=jax" in run_python(__file__)


if __name__ == "__main__":
    import keras

    numbers = backend_numbers()
    assert np.isfinite(numbers["modality"]).all() and np.isfinite(numbers["shap"]).all()
    print(f"ok backend={keras.backend.backend()}")
