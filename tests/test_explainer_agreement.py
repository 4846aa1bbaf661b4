"""Explanations of one run checked against each other: Spearman agreement of their importances
(hand-computed values, tokens as well as features, the skip below 3 common features), deletion
curves on a model that uses one feature only (binary and three classes), and a breast_cancer job
that logs both for permutation, SHAP and integrated gradients."""

import keras
import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from conftest import FAST, artifact_paths, mlflow_client, parent_runs
from transferlab.data.inputs import Examples
from transferlab.data.prepared import PreparedData
from transferlab.explainers.agreement import agreement_metrics, agreement_table
from transferlab.explainers.base import ExplainContext, Explanation
from transferlab.explainers.comparison import compare_explanations
from transferlab.explainers.deletion import deletion_curve

from model_inputs import table

FEATURES = ["f0", "f1", "f2", "f3", "f4"]


def importance(values, index=FEATURES) -> pd.Series:
    return pd.Series(values, index=index, dtype="float64")


# --- agreement ------------------------------------------------------------------------------------


def test_identical_reversed_and_hand_computed_rankings():
    table = agreement_table(
        {
            "shap": importance([5, 4, 3, 2, 1]),
            "permutation": importance([0.5, 0.4, 0.3, 0.2, 0.1]),  # same order, other scale
            "integrated_gradients": importance([1, 2, 3, 4, 5]),  # reversed
        }
    )
    assert list(table.columns) == ["explainer_a", "explainer_b", "n_features", "spearman", "top5_overlap", "note"]
    assert agreement_metrics(table) == pytest.approx(
        {
            "explainer_agreement_integrated_gradients_permutation": -1.0,
            "explainer_agreement_integrated_gradients_shap": -1.0,
            "explainer_agreement_permutation_shap": 1.0,
        }
    )
    assert (table.n_features == 5).all() and (table.top5_overlap == 5).all() and (table.note == "").all()

    # ranks 1..5 against 2,1,4,3,5: sum d^2 = 4, rho = 1 - 6 * 4 / (5 * (25 - 1)) = 0.8
    pair = agreement_table({"a": importance([1, 2, 3, 4, 5]), "b": importance([2, 1, 4, 3, 5])})
    assert pair.spearman.item() == pytest.approx(0.8)


def test_token_rankings_agree_over_the_tokens_both_rank_and_top5_counts_shared_tokens():
    lime = importance([0.9, 0.7, 0.5, 0.3, 0.1, 0.05, 0.01], ["free", "win", "call", "now", "hi", "ok", "lol"])
    shap = importance([0.8, 0.6, 0.1, 0.4, 0.2, 0.3], ["free", "win", "call", "now", "hi", "prize"])
    table = agreement_table({"shap": lime, "lime": shap})
    assert table.n_features.item() == 5  # free, win, call, now, hi
    # over the common tokens, ranks 1..5 (lime) against 1, 2, 5, 3, 4 (shap): sum d^2 = 4 + 1 + 1 = 6
    assert table.spearman.item() == pytest.approx(1 - 6 * 6 / (5 * 24))
    assert table.top5_overlap.item() == 5
    top = agreement_table(
        {"a": importance(range(10), list("abcdefghij")), "b": importance(range(10)[::-1], list("abcdefghij"))}
    )
    assert top.top5_overlap.item() == 0 and top.spearman.item() == pytest.approx(-1.0)


def test_pairs_with_fewer_than_three_common_features_are_skipped_and_say_so():
    table = agreement_table(
        {
            "a": importance([3, 2, 1], ["x", "y", "z"]),
            "b": importance([1, 2, 3], ["x", "y", "w"]),
            "c": importance([1, 1, 1], ["x", "y", "z"]),
        }
    )
    rows = table.set_index(["explainer_a", "explainer_b"])
    assert rows.loc[("a", "b"), "n_features"] == 2 and np.isnan(rows.loc[("a", "b"), "spearman"])
    assert rows.loc[("a", "b"), "note"] == "skipped: fewer than 3 common features"
    assert rows.loc[("a", "c"), "note"] == "skipped: one importance is constant over the common features"
    assert agreement_metrics(table) == {}


# --- deletion curves ------------------------------------------------------------------------------


def one_feature_data(n_classes: int, seed: int = 0) -> PreparedData:
    """Five features, the label a function of f0 alone; the training split shifted, so its means
    differ from the test split's."""
    rng = np.random.default_rng(seed)

    def split(n: int, shift: float) -> Examples:
        x = rng.normal(size=(n, 5)).astype("float32") + shift
        f0 = x[:, 0] - shift
        labels = (f0 > 0).astype(int) if n_classes == 2 else np.digitize(f0, [-0.5, 0.5])
        return Examples({"features": x}, labels)

    train, test = split(200, 1.0), split(120, 0.0)
    classes = [str(k) for k in range(n_classes)]
    return PreparedData(train, test, test, table(5), classes, {}, pd.DataFrame(), "test", "test")


def one_feature_model(n_classes: int) -> keras.Model:
    """A Dense layer with fixed weights on f0 only: binary sigmoid(2 f0); three classes
    softmax(f0 * [-4, 0, 4]) (class 1 most likely near f0 = 0)."""
    inputs = keras.Input((5,), name="features")
    units, activation = (1, "sigmoid") if n_classes == 2 else (3, "softmax")
    dense = keras.layers.Dense(units, activation=activation)
    model = keras.Model(inputs, dense(inputs))
    kernel = np.zeros((5, units), dtype="float32")
    kernel[0] = [2.0] if n_classes == 2 else [-4.0, 0.0, 4.0]
    dense.set_weights([kernel, np.zeros(units, dtype="float32")])
    return model


def ranked(order: list[str]) -> Explanation:
    """An explanation whose importance ranks the features in `order`, most important first."""
    return Explanation(importance=importance(np.arange(5, 0, -1), order), explained_input="features")


@pytest.mark.parametrize("n_classes", [2, 3], ids=["binary", "multiclass"])
def test_the_ranking_that_finds_the_one_used_feature_is_the_faithful_one(n_classes):
    data, model = one_feature_data(n_classes), one_feature_model(n_classes)
    context = ExplainContext(model, data, np.array([0.5]), seed=7)
    explanations = {
        "first": ranked(["f0", "f1", "f2", "f3", "f4"]),
        "last": ranked(["f4", "f3", "f2", "f1", "f0"]),
        "tokens": Explanation(
            importance=importance([1, 2, 3], ["free", "win", "f0"])
        ),  # no table input: agreement only
    }
    comparison = compare_explanations(explanations, context)
    deletion = comparison.tables["deletion.csv"]
    assert list(deletion.columns) == ["explainer", "k", "feature", "roc_auc", "drop"]
    assert set(deletion.explainer) == {"first", "last", "random"}
    first = deletion[deletion.explainer == "first"].reset_index(drop=True)
    assert first.k.tolist() == [0, 1, 2, 3, 4, 5] and first.feature.tolist() == ["", *FEATURES]

    probabilities = keras.ops.convert_to_numpy(model(data.test.inputs["features"]))
    expected = (
        roc_auc_score(data.test.labels, probabilities[:, 0])
        if n_classes == 2
        else roc_auc_score(data.test.labels, probabilities, multi_class="ovr")
    )
    assert expected > 0.99 and first.roc_auc[0] == pytest.approx(expected)
    assert first.roc_auc[1:].tolist() == pytest.approx([0.5] * 5)  # f0 at its mean: every row alike
    last = deletion[deletion.explainer == "last"].reset_index(drop=True)
    assert last.roc_auc[:5].tolist() == pytest.approx([expected] * 5) and last.roc_auc[5] == pytest.approx(0.5)

    metrics = comparison.metrics
    assert metrics["explainer_faithfulness_first"] == pytest.approx(expected - 0.5)
    assert metrics["explainer_faithfulness_last"] == pytest.approx((expected - 0.5) / 5)
    assert metrics["explainer_faithfulness_last"] <= metrics["explainer_faithfulness_random"]
    assert metrics["explainer_faithfulness_random"] <= metrics["explainer_faithfulness_first"]
    assert set(comparison.figures) == {"deletion.png"}
    assert metrics["explainer_agreement_first_last"] == pytest.approx(-1.0)
    assert set(comparison.tables["agreement.csv"].note) == {"", "skipped: fewer than 3 common features"}

    again = compare_explanations(explanations, context).tables["deletion.csv"]
    pd.testing.assert_frame_equal(deletion, again)  # the random ranking is seeded


def test_removed_features_take_their_training_means():
    """sigmoid(relu(f0 + 10 (f1 - m))), m = f1's training mean: f1 at m leaves relu(f0), which ranks
    every row right (ROC-AUC 1); at any other constant, such as its test mean near 0, relu(f0 - 10)
    ranks none (0.5)."""
    data = one_feature_data(2)
    mean = float(data.train.inputs["features"][:, 1].mean())
    inputs = keras.Input((5,), name="features")
    hidden, output = keras.layers.Dense(1, activation="relu"), keras.layers.Dense(1, activation="sigmoid")
    model = keras.Model(inputs, output(hidden(inputs)))
    hidden.set_weights([np.array([[1.0], [10.0], [0.0], [0.0], [0.0]], "float32"), np.array([-10.0 * mean], "float32")])
    output.set_weights([np.ones((1, 1), "float32"), np.zeros(1, "float32")])
    curve = deletion_curve(model, data, "features", ["f1", "f0"])
    assert curve.feature.tolist() == ["", "f1", "f0"]
    assert curve.roc_auc[0] < 0.9 and curve.roc_auc[1] == pytest.approx(1.0) and curve.roc_auc[2] == pytest.approx(0.5)
    assert curve["drop"].tolist() == pytest.approx([0.0, curve.roc_auc[0] - 1.0, curve.roc_auc[0] - 0.5])


def test_one_table_importance_gets_a_deletion_curve_and_none_gets_no_comparison():
    context = ExplainContext(one_feature_model(2), one_feature_data(2), np.array([0.5]), seed=0)
    single = compare_explanations({"permutation": ranked(FEATURES), "gradcam": Explanation()}, context)
    assert set(single.tables) == {"deletion.csv"} and set(single.metrics) == {
        "explainer_faithfulness_permutation",
        "explainer_faithfulness_random",
    }
    assert compare_explanations({"gradcam": Explanation()}, context) is None


# --- one job --------------------------------------------------------------------------------------


@pytest.mark.slow  # ~40 s: three explainers on breast_cancer
def test_a_job_logs_agreement_and_faithfulness_of_three_table_explainers(compose, run_job, tmp_path):
    run_job(
        compose(
            *FAST,
            "explainer=[permutation,shap,integrated_gradients]",
            "explainer.shap.max_rows=20",
            "explainer.shap.background_rows=20",
            "explainer.permutation.n_repeats=2",
            "explainer.integrated_gradients.steps=16",
        )
    )
    [run] = parent_runs(tmp_path)
    metrics = run.data.metrics
    pairs = ["integrated_gradients_permutation", "integrated_gradients_shap", "permutation_shap"]
    for pair in pairs:
        assert -1.0 <= metrics[f"explainer_agreement_{pair}"] <= 1.0, pair
    for name in ("permutation", "shap", "integrated_gradients", "random"):
        assert -1.0 <= metrics[f"explainer_faithfulness_{name}"] <= 1.0, name
    client = mlflow_client(tmp_path)
    artifacts = artifact_paths(client, run.info.run_id, "explanations/comparison")
    assert artifacts == {
        f"explanations/comparison/{name}" for name in ("agreement.csv", "deletion.csv", "deletion.png")
    }

    folder = client.download_artifacts(run.info.run_id, "explanations/comparison", str(tmp_path / "downloaded"))
    agreement = pd.read_csv(f"{folder}/agreement.csv")
    assert (agreement.n_features == 30).all() and agreement.note.isna().all()
    deletion = pd.read_csv(f"{folder}/deletion.csv")
    assert deletion.groupby("explainer").k.max().to_dict() == {
        name: 20 for name in ("integrated_gradients", "permutation", "random", "shap")
    }
    start = deletion[deletion.k == 0].roc_auc
    assert start.to_numpy() == pytest.approx(np.full(4, metrics["test_roc_auc"]))  # k = 0 is the model's test ROC-AUC
