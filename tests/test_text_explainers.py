"""LIME and SHAP on text (SMS spam, a trained logistic regression on TF-IDF features): the tokens
they weigh and the sign of each weight against the model's own coefficients, the same seeded
messages for both, SHAP's additivity, the artifacts of a job, auto's pick, and one-line errors for
settings of another kind of input than the data's."""

import re
from dataclasses import replace

import keras
import numpy as np
import pandas as pd
import pytest
from hydra.utils import instantiate

from conftest import DATA_DIR, FAST, artifact_paths, compose_config, mlflow_client, parent_runs
from transferlab.config_checks import check_config
from transferlab.data.preprocessing import prepare
from transferlab.data.sms_spam import load_sms_spam
from transferlab.data.splits import split_table
from transferlab.data.text_features import TextFeatureSettings
from transferlab.errors import ConfigError
from transferlab.explainers import lime_explainer, shap_values
from transferlab.explainers.auto import AutoExplainer
from transferlab.explainers.gradcam import GradCAM
from transferlab.explainers.lime_explainer import LimeExplainer
from transferlab.explainers.permutation import PermutationImportance
from transferlab.explainers.samples import sample_test_texts
from transferlab.explainers.shap_values import ShapValues
from transferlab.models.text import TextModel

from test_image_explainers import TABLE, context, prepared, random_images

FEW = {"n_texts": 2}  # messages explained: one correct and one wrong prediction
LIME_FEW = FEW | {"num_samples": 200}
SHAP_FEW = FEW | {"max_evals": 200}
TOP = 3  # the strongest tokens of a message whose signs are checked


@pytest.fixture(scope="module")
def sms():
    table = load_sms_spam(None, str(DATA_DIR), None)
    return prepare(table, split_table(table, 0.2, 0.2, 42, True), None, None, TextFeatureSettings())


@pytest.fixture(scope="module")
def linear(sms) -> keras.Model:
    """Logistic regression on the TF-IDF features, trained to ~98% test accuracy in a few seconds."""
    keras.utils.set_random_seed(0)
    model = TextModel().build_classifier(sms.specs, sms.n_classes)
    model.compile(keras.optimizers.Adam(0.05), "binary_crossentropy")
    model.fit(sms.train.inputs, sms.train.labels, epochs=5, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def spam_only(sms):
    """The test split's spam messages: the sample's correct predictions are spam predicted spam."""
    return replace(sms, test=sms.test.take(np.flatnonzero(sms.test.labels == 1)))


@pytest.fixture(scope="module")
def lime(linear, spam_only):
    return LimeExplainer(**LIME_FEW).explain(context(linear, spam_only))


@pytest.fixture(scope="module")
def shap(linear, spam_only):
    return ShapValues(**SHAP_FEW).explain(context(linear, spam_only))


def spam_coefficients(model: keras.Model, data) -> dict[str, float]:
    """Each token's weight in the logistic regression's logit of spam."""
    kernel = keras.ops.convert_to_numpy(model.get_layer("output").kernel)[:, 0]
    return dict(zip(data.specs["text"].columns, kernel))


def test_lime_weighs_a_spam_message_by_its_spammy_words(lime):
    table, messages = lime.table, lime.tables["messages.csv"]
    right = messages[messages.correct].iloc[0]
    assert right.predicted == "spam"
    token, weight = table[table["index"] == right["index"]][["token", "weight"]].iloc[0]
    assert weight > 0 and token in re.findall(r"\w+", right.message.lower())
    assert list(table.columns) == ["index", "message", "token", "weight"]
    assert lime.metrics["lime_local_r2_mean"] == pytest.approx(messages.local_r2.mean())


# shap's Partition explainer JIT-compiles its numba kernels in every process (~10 s): slow lane
@pytest.mark.parametrize("method", ["lime", pytest.param("shap", marks=pytest.mark.slow)])
def test_the_strongest_tokens_follow_the_models_coefficients(method, request, linear, sms):
    """Toward spam, a token of positive coefficient speaks for spam; toward ham, against it."""
    explanation = request.getfixturevalue(method)
    coefficients = spam_coefficients(linear, sms)
    for _, message in explanation.tables["messages.csv"].iterrows():
        strongest = explanation.table[explanation.table["index"] == message["index"]].head(TOP)
        toward_spam = 1 if message.predicted == "spam" else -1
        signs = [np.sign(coefficients[token]) * toward_spam for token in strongest.token]
        assert signs == list(np.sign(strongest.weight)), (method, message.message, strongest)


@pytest.mark.slow
def test_lime_and_shap_explain_the_same_messages_and_agree_on_the_top_tokens(lime, shap):
    assert lime.tables["messages.csv"]["index"].tolist() == shap.tables["messages.csv"]["index"].tolist()
    assert len(set(lime.importance.index[:10]) & set(shap.importance.index[:10])) >= 3
    for explanation in (lime, shap):
        assert explanation.importance.is_monotonic_decreasing
        by_hand = explanation.table.weight.abs().groupby(explanation.table.token).sum() / 2
        assert explanation.importance.to_dict() == pytest.approx(by_hand.to_dict())


@pytest.mark.slow
def test_shap_values_add_up_to_the_predicted_probability(shap):
    messages = shap.tables["messages.csv"]
    np.testing.assert_allclose(messages.base_value + messages.shap_sum, messages.probability, atol=1e-5)
    assert set(shap.figures) == {"tokens.png", "global.png"} and set(shap.texts) == {"message_0.html", "message_1.html"}
    for page in shap.texts.values():  # colours as CSS numbers (shap 0.51 writes NumPy reprs under NumPy 2)
        assert "np.float64" not in page and re.search(r"background: rgba\(\d", page)


def test_the_sample_is_seeded_and_mixes_right_and_wrong_predictions(linear, sms):
    first, again, other = (sample_test_texts(linear, sms, 6, seed) for seed in (0, 0, 1))
    assert first.index.tolist() == again.index.tolist() != other.index.tolist()
    assert first.correct.tolist() == [True] * 3 + [False] * 3
    assert first.messages == [str(text) for text in sms.test.texts["text"][first.index]]


def test_messages_of_fewer_than_two_words_are_not_sampled(linear, sms):
    """shap's Text masker fails on them (lime on wordless ones such as the collection's ':)')."""
    n = sms.test.n_rows
    texts = np.where(np.arange(n) % 2, ":)", "ok :)").astype(object)
    texts[-3:] = ["Call now", "See you :)", "Free entry in 2 a wkly comp"]
    few_words = replace(sms, test=replace(sms.test, texts={"text": texts}))
    assert sample_test_texts(linear, few_words, 6, 0).index.tolist() == [n - 3, n - 2, n - 1]


def test_auto_picks_lime_on_text(linear, sms):
    auto = AutoExplainer()
    auto.check(sms, linear)
    assert auto.choice == "lime" and isinstance(auto.chosen, LimeExplainer)


def test_a_text_job_logs_lime_tables_pages_and_charts(compose, run_job, tmp_path):
    """explainer=auto on sms_spam: LIME with its defaults, every artifact under explanations/auto/."""
    run_job(compose("dataset=sms_spam", "model=text_linear", *FAST))
    [run] = parent_runs(tmp_path)
    assert run.data.tags["explainer.auto"] == "lime"
    client = mlflow_client(tmp_path)
    pages = {f"explanations/auto/message_{k}.html" for k in range(6)}
    assert artifact_paths(client, run.info.run_id, "explanations") == pages | {
        f"explanations/auto/{name}"
        for name in ("auto.csv", "messages.csv", "importance.csv", "tokens.png", "global.png")
    }
    assert "lime_local_r2_mean" in run.data.metrics
    folder = client.download_artifacts(run.info.run_id, "explanations/auto", str(tmp_path))
    table = pd.read_csv(f"{folder}/auto.csv")
    assert list(table.columns) == ["index", "message", "token", "weight"]
    messages = pd.read_csv(f"{folder}/messages.csv", keep_default_na=False)
    for k, message in enumerate(messages.message):
        page = open(f"{folder}/message_{k}.html", encoding="utf-8").read()
        assert all(word in page for word in re.findall(r"\w+", message)), message


# --- settings of another kind of input than the data's: one line naming the key ----------------


def digit_images():
    return prepared(random_images(4), np.arange(4))


@pytest.mark.parametrize(
    ("explainer", "data", "expected"),
    [
        (
            LimeExplainer(split_expression=r"\s+"),
            "table",
            r"explainer.lime.split_expression=\s+: a setting for texts; the explained input is features (table, 5)",
        ),
        (
            LimeExplainer(bow=False),
            "images",
            "explainer.lime.bow=False: a setting for texts; the explained input is image (image, 8x8x1)",
        ),
        (
            LimeExplainer(segmentation={"algorithm": "quickshift"}),
            "text",
            "explainer.lime.segmentation={'algorithm': 'quickshift'}: a setting for images; "
            "the explained input is text (text, ",
        ),
        (LimeExplainer(hide_color=None), "text", "explainer.lime.hide_color=null: a setting for images"),
        (LimeExplainer(n_images=2), "text", "explainer.lime.n_images=2: a setting for images"),
        (
            LimeExplainer(),
            "table",
            "explainer=lime: works on images or texts; for tables choose permutation, integrated_gradients or shap",
        ),
        (
            ShapValues(n_texts=3),
            "table",
            "explainer.shap.n_texts=3: a setting for texts; the explained input is features (table, 5)",
        ),
        (ShapValues(num_features=3), "images", "explainer.shap.num_features=3: a setting for texts"),
        (ShapValues(background_rows=50), "text", "explainer.shap.background_rows=50: a setting for tables"),
        (ShapValues(mask_value=255), "text", "explainer.shap.mask_value=255: a setting for images"),
        (PermutationImportance(), "text", "explainer=permutation: works on tables; for texts choose lime or shap"),
        (GradCAM(), "text", "explainer=gradcam: works on images; for texts choose lime or shap"),
    ],
    ids=lambda value: type(value).__name__ if not isinstance(value, str) else None,
)
def test_a_setting_for_another_kind_of_input_is_one_line(explainer, data, expected, sms):
    with pytest.raises(ConfigError) as error:
        explainer.check({"table": TABLE, "images": digit_images(), "text": sms}[data], None)
    assert str(error.value).startswith(expected)
    assert "\n" not in str(error.value)


@pytest.mark.parametrize(("name", "data"), [("lime", "text"), ("lime", "images"), ("shap", "text"), ("shap", "table")])
def test_the_other_kinds_settings_at_their_defaults_pass(name, data, sms):
    """conf/explainer/<name>.yaml as it is: every kind's settings at their defaults."""
    explainer = instantiate(compose_config(f"explainer={name}").explainer[name])
    explainer.check({"table": TABLE, "images": digit_images(), "text": sms}[data], None)


@pytest.mark.parametrize(("name", "module"), [("lime", lime_explainer), ("shap", shap_values)])
def test_the_yaml_sets_each_kinds_settings_to_the_class_defaults(name, module):
    """What settings_fit_input compares with: a default-built explainer's values."""
    explainer = instantiate(compose_config(f"explainer={name}").explainer[name])
    default = type(explainer)()
    assert {key: getattr(explainer, key) for key in module.KINDS_OF} == {
        key: getattr(default, key) for key in module.KINDS_OF
    }


def test_split_expression_must_be_a_regular_expression():
    with pytest.raises(ConfigError) as error:
        check_config(compose_config("explainer=lime", "explainer.lime.split_expression='(unclosed'"))
    assert str(error.value) == "explainer.lime.split_expression=(unclosed: must be a non-empty regular expression"
