"""Evaluation of multiclass and multimodal runs: macro-F1, the ZeroR baseline, per-class ROC-AUC
names, and subgroup reports (fairlearn's MetricFrame) with bands, missing values, gaps and the
one-line error for a column the dataset lacks."""

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from conftest import rejection
from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import classification_metrics, zeror_metrics
from transferlab.evaluation.report import evaluate, metric_names
from transferlab.evaluation.settings import SubgroupSettings
from transferlab.evaluation.subgroups import groups_of, subgroup_columns, subgroup_report

RNG = np.random.default_rng(0)
N = 300
Y = RNG.choice(3, N, p=[0.2, 0.2, 0.6])
PREDICTED = np.where(RNG.random(N) < 0.7, Y, 2)
ATTRIBUTES = pd.DataFrame(
    {
        "sex": RNG.choice(["male", "female", "unknown"], N, p=[0.49, 0.48, 0.03]),
        "age": np.where(RNG.random(N) < 0.05, np.nan, RNG.choice(np.arange(0, 90, 5), N)).astype(float),
    }
)


def test_zeror_predicts_the_majority_class_of_the_training_labels():
    train, test = np.array([2, 2, 2, 0, 1]), np.array([0, 0, 0, 1, 2])  # predicts 2 (not test's 0) on every row
    assert zeror_metrics(train, test) == pytest.approx(
        {
            "zeror_test_accuracy": 0.2,
            "zeror_test_balanced_accuracy": 1 / 3,  # recalls 0, 0, 1
            "zeror_test_macro_f1": (0 + 0 + 1 / 3) / 3,  # class 2: precision 1/5, recall 1
        }
    )


def test_macro_f1_is_logged_beside_the_positive_class_f1():
    y, p1 = np.array([0, 0, 0, 1, 1]), np.array([0.1, 0.2, 0.7, 0.8, 0.4])
    metrics = classification_metrics(y, np.stack([1 - p1, p1], axis=1), "test")
    assert metrics["test_f1"] == pytest.approx(0.5)  # positive class: precision 1/2, recall 1/2
    assert metrics["test_macro_f1"] == pytest.approx((2 / 3 + 0.5) / 2)
    assert "test_roc_auc_1" not in metrics


def test_one_vs_rest_roc_auc_per_class_with_mlflow_safe_names():
    probabilities = np.eye(3)[PREDICTED] * 0.6 + 0.4 * RNG.dirichlet(np.ones(3), N)
    names = ["akiec", "bkl", "vasc lesion/other"]
    metrics = classification_metrics(Y, probabilities, "test", names)
    for k, suffix in enumerate(["akiec", "bkl", "vasc_lesion_other"]):
        from sklearn.metrics import roc_auc_score

        assert metrics[f"test_roc_auc_{suffix}"] == pytest.approx(roc_auc_score(Y == k, probabilities[:, k]))
    assert {f"val_roc_auc_{s}" for s in ("akiec", "bkl", "vasc_lesion_other")} <= set(metric_names(names, [1]))
    assert {"val_macro_f1", "test_macro_f1"} <= set(metric_names(["a", "b"], [1]))


def test_bands_keep_their_order_and_missing_values_get_their_own_group():
    values = pd.Series([3.0, np.nan, 30.0, 44.9, 75.0, 130.0, -1.0], name="age")
    groups = groups_of(values, [0, 30, 45, 75, 120])
    assert groups.astype(str).tolist() == [
        "[0, 30)",
        "missing",
        "[30, 45)",
        "[30, 45)",
        "[75, 120)",
        "outside [0, 120)",
        "outside [0, 120)",
    ]
    assert list(groups.cat.categories) == ["[0, 30)", "[30, 45)", "[75, 120)", "outside [0, 120)", "missing"]
    text = groups_of(pd.Series(["b", None, "a"], name="sex"), None)
    assert text.astype(str).tolist() == ["b", "missing", "a"] and list(text.cat.categories) == ["a", "b", "missing"]


def test_each_group_is_scored_as_sklearn_scores_its_rows():
    report = subgroup_report(Y, PREDICTED, ATTRIBUTES, SubgroupSettings())
    sex = report.tables["sex"].set_index("group")
    assert list(report.tables["sex"].columns) == [
        "group",
        "macro_f1",
        "balanced_accuracy",
        "accuracy",
        "count",
        "in_gap",
    ]
    rows = (ATTRIBUTES.sex == "female").to_numpy()
    assert sex.loc["female", "count"] == rows.sum()
    assert sex.loc["female", "macro_f1"] == pytest.approx(f1_score(Y[rows], PREDICTED[rows], average="macro"))
    assert sex.loc["female", "accuracy"] == pytest.approx(accuracy_score(Y[rows], PREDICTED[rows]))
    assert sex.loc["female", "balanced_accuracy"] == pytest.approx(balanced_accuracy_score(Y[rows], PREDICTED[rows]))
    missing_age = ATTRIBUTES.age.isna().to_numpy()
    assert report.tables["age"].set_index("group").loc["missing", "count"] == missing_age.sum()
    assert report.tables["age"].group.tolist()[-1] == "missing"


@pytest.mark.parametrize("min_count", [20, 45])
def test_the_gap_is_max_minus_min_over_groups_of_at_least_min_count_rows(min_count):
    report = subgroup_report(Y, PREDICTED, ATTRIBUTES, SubgroupSettings(min_count=min_count))
    for column in ("sex", "age"):
        table = report.tables[column]
        assert (table.in_gap == (table["count"] >= min_count)).all()
        large = table[table.in_gap].macro_f1
        assert report.metrics[f"subgroup_{column}_macro_f1_gap"] == pytest.approx(large.max() - large.min())
        assert len(table) > len(large)  # the small groups (unknown sex, missing age, ...) are still listed


def test_no_gap_without_two_large_groups_and_only_the_chosen_columns():
    report = subgroup_report(Y, PREDICTED, ATTRIBUTES, SubgroupSettings(columns=["sex"], min_count=200))
    assert list(report.tables) == ["sex"] and report.metrics == {}


def test_evaluate_reports_subgroups_of_a_two_input_model():
    from multimodal import two_input_data, two_input_model

    model = two_input_model()
    data = two_input_data(model, n=60, attributes=ATTRIBUTES.head(60))
    evaluation = evaluate(model, data, [1], np.array([0.5]))
    assert {"evaluation/subgroups/sex.csv", "evaluation/subgroups/age.csv"} == {
        f"evaluation/{name}" for name in evaluation.tables if name.startswith("subgroups/")
    }
    assert "subgroups/macro_f1.png" in evaluation.figures
    assert {"subgroup_sex_macro_f1_gap", "zeror_test_macro_f1", "test_roc_auc_nv", "test_macro_f1"} <= set(
        evaluation.metrics
    )


def test_a_column_the_dataset_lacks_is_one_line():
    with pytest.raises(ConfigError) as error:
        subgroup_columns(SubgroupSettings(columns=["sex", "dx_type"]), ATTRIBUTES)
    assert (
        str(error.value)
        == "evaluation.subgroups.columns=dx_type: not a subgroup attribute of this dataset; available: sex, age"
    )


def test_a_subgroup_column_is_rejected_before_any_run(tmp_path):
    assert rejection(tmp_path, "evaluation.subgroups.columns=[sex]", "explainer=none") == (
        "error: evaluation.subgroups.columns=sex: not a subgroup attribute of this dataset; available: none"
    )


def test_band_edges_must_increase(tmp_path):
    assert rejection(tmp_path, "evaluation.subgroups.bands.age=[0,30,20]") == (
        "error: evaluation.subgroups.bands.age=[0, 30, 20]: "
        "must be a list of two or more increasing numbers (band edges)"
    )


@pytest.mark.slow
def test_runs_without_subgroup_attributes_never_import_fairlearn():
    from conftest import run_python

    code = (
        "import sys, numpy as np; sys.path.insert(0, 'tests'); "
        "from multimodal import two_input_data, two_input_model; "
        "import transferlab.pipeline; from transferlab.evaluation.report import evaluate; "
        "model = two_input_model(); evaluate(model, two_input_data(model, n=20), [1], np.array([0.5])); "
        "print('fairlearn' in sys.modules)"
    )
    assert run_python("-c", code, backend="tensorflow").split()[-1] == "False"
