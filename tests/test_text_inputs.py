"""Text as a model input: the SMS Spam Collection and CSV text columns load as text inputs whose
vocabulary is fitted on the training split only; text_linear and text_bag train on them; the logged
model takes raw message strings; a text model transferred from an earlier run reads messages
through that run's vocabulary; bad text input is a one-line error naming key and value."""

import zipfile

import mlflow
import numpy as np
import pandas as pd
import pytest
from sklearn.feature_extraction.text import CountVectorizer

from conftest import DATA_DIR, FAST, compose_config, migrated_store_uri, mlflow_client, parent_runs, rejection
from transferlab.data.csv_table import load_csv
from transferlab.data.loading import load_prepared
from transferlab.data.inputs import InputKind
from transferlab.data.sms_spam import load_sms_spam
from transferlab.errors import ConfigError

SMS = DATA_DIR / "text" / "SMSSpamCollection"


def sms_frame(rows=slice(None)) -> pd.DataFrame:
    frame = pd.read_csv(SMS, sep="\t", header=None, names=["label", "text"], quoting=3)
    return frame.iloc[rows].reset_index(drop=True)


def write_reviews(path, rows=slice(3000, 3600)) -> None:
    """A user's CSV: SMS messages under other column names, with an extra numeric column."""
    frame = sms_frame(rows).rename(columns={"text": "message", "label": "kind"})
    frame.assign(length=frame.message.str.len()).to_csv(path, index=False)


def test_sms_spam_loads_every_message_with_its_label():
    table = load_sms_spam(None, str(DATA_DIR), None)
    assert table.class_names == ["ham", "spam"]
    assert len(table.texts["text"]) == 5574 and int(table.target.sum()) == 747
    assert table.texts["text"][2].startswith("Free entry in 2 a wkly comp")
    assert table.features.shape == (5574, 0)


def test_sms_spam_reads_the_uci_zip_in_the_data_dir(tmp_path):
    (tmp_path / "text").mkdir()
    with zipfile.ZipFile(tmp_path / "text" / "sms_spam_collection.zip", "w") as archive:
        archive.write(SMS, "SMSSpamCollection")
        archive.writestr("readme", "UCI's zip holds a readme too")
    table = load_sms_spam(None, str(tmp_path), "http://127.0.0.1:9/unreachable.zip")
    assert len(table.texts["text"]) == 5574


@pytest.mark.slow  # Keras' get_file gives up on the closed port after ~10 s
def test_a_missing_sms_file_offline_says_where_to_put_it(tmp_path):
    with pytest.raises(ConfigError) as caught:
        load_sms_spam(None, str(tmp_path), "http://127.0.0.1:9/sms.zip")
    message = str(caught.value)
    assert "\n" not in message and "dataset.loader.url" in message
    assert str(tmp_path / "text") in message and "SMSSpamCollection" in message


def test_the_vocabulary_is_fitted_on_training_messages_only(compose):
    data = load_prepared(compose("dataset=sms_spam").dataset)
    spec = data.specs["text"]
    assert spec.kind == InputKind.TEXT and spec.raw_columns == ("text",)
    train_tokens = set(CountVectorizer().fit(data.train.texts["text"]).get_feature_names_out())
    test_tokens = set(CountVectorizer().fit(data.test.texts["text"]).get_feature_names_out())
    assert set(spec.columns) <= train_tokens
    assert test_tokens - train_tokens and not (test_tokens - train_tokens) & set(spec.columns)
    assert data.train.inputs["text"].shape == (data.train.n_rows, len(spec.columns))
    assert data.train.inputs["text"].dtype == np.float32
    assert list(data.raw_examples.columns) == ["text"]


def test_dataset_text_settings_shape_the_vocabulary(compose):
    data = load_prepared(
        compose("dataset=sms_spam", "dataset.text.max_tokens=500", "dataset.text.ngram_range=[1,2]").dataset
    )
    assert len(data.specs["text"].columns) == 500
    assert any(" " in token for token in data.specs["text"].columns)  # word pairs


def test_csv_text_columns_become_text_inputs_and_empty_messages_are_dropped(tmp_path, caplog):
    frame = sms_frame(slice(0, 300)).assign(score=np.arange(300.0))
    frame.loc[[3, 7], "text"] = ["   ", np.nan]
    frame.to_csv(tmp_path / "messages.csv", index=False)
    with caplog.at_level("INFO"):
        table = load_csv(tmp_path / "messages.csv", "label", text=["text"])
    assert len(table.texts["text"]) == 298 and list(table.features.columns) == ["score"]
    assert "dropped 2 rows with an empty or missing message" in caplog.text


@pytest.mark.parametrize(
    ("text", "messages", "expected"),
    [
        ("[review]", None, "error: dataset.loader.text=review: not a column of"),
        ("[score]", None, "error: dataset.loader.text=score: holds numbers (float64), not text"),
        ("[text]", "", "error: dataset.loader.text=['text']: no row of"),
    ],
    ids=["missing-column", "numeric-column", "no-message-left"],
)
def test_bad_text_columns_are_rejected(tmp_path, text, messages, expected):
    frame = sms_frame(slice(0, 50)).assign(score=np.arange(50.0))
    if messages is not None:
        frame["text"] = messages
    frame.to_csv(tmp_path / "messages.csv", index=False)
    line = rejection(
        tmp_path,
        "dataset=csv",
        f"dataset.loader.path={tmp_path / 'messages.csv'}",
        "dataset.loader.target=label",
        f"dataset.loader.text={text}",
        "model=text_linear",
        "explainer=none",
    )
    assert line.startswith(expected), line


@pytest.mark.parametrize(
    ("overrides", "expected"),
    [
        (("dataset.text.max_tokens=1",), "error: dataset.text.max_tokens=1: must be an integer >= 2"),
        (("dataset.text.ngram_range=[2,1]",), "error: dataset.text.ngram_range=[2, 1]: must be [min_n, max_n]"),
        (("dataset.text.min_df=100000",), "error: dataset.text.min_df=100000: leaves no token in column 'text'"),
        (("model=mlp",), "error: model=mlp: takes table inputs, but the dataset's input is text (text, "),
        (("dataset=digits", "model=text_linear"), "error: model=text_linear: takes text inputs, but the dataset's"),
    ],
    ids=["vocabulary<2", "ngram-order", "min_df-empty", "table-model-on-text", "text-model-on-images"],
)
def test_bad_text_settings_are_rejected(tmp_path, overrides, expected):
    base = () if any(o.startswith("dataset=") for o in overrides) else ("dataset=sms_spam", "model=text_linear")
    line = rejection(tmp_path, *base, "explainer=none", *overrides)
    assert line.startswith(expected), line


def test_a_table_model_on_text_suggests_the_text_models(tmp_path):
    assert "choose text_linear or text_bag" in rejection(tmp_path, "dataset=sms_spam", "model=mlp", "explainer=none")


@pytest.fixture(scope="module")
def spam_run(tmp_path_factory):
    """One logged text_bag run on SMS spam (the source of the transfer tests)."""
    from transferlab.pipeline import run_job

    tmp = tmp_path_factory.mktemp("spam")
    cfg = compose_config(
        "dataset=sms_spam",
        "model=text_bag",
        "explainer=none",
        "trainer.epochs=3",
        "trainer.learning_rate=0.01",
        f"tracking.uri={migrated_store_uri(tmp)}",
        f"tracking.artifact_root={tmp}/mlruns",
    )
    run_job(cfg)
    (run,) = parent_runs(tmp)
    return tmp, run


def logged_model(tmp, run_id: str):
    mlflow.set_tracking_uri(mlflow_client(tmp).tracking_uri)
    return mlflow.pyfunc.load_model(f"runs:/{run_id}/model")


@pytest.mark.slow  # trains the module's source run (~15 s); the text job of test_text_explainers is the fast lane's
def test_a_text_model_learns_spam_and_its_logged_model_takes_raw_messages(spam_run):
    tmp, run = spam_run
    assert run.data.metrics["test_roc_auc"] > 0.95
    model = logged_model(tmp, run.info.run_id)
    messages = ["WINNER!! You have won a free prize, call 09061701461 to claim now", "ok see you at lunch"]
    predicted = model.predict(pd.DataFrame({"text": messages}))
    assert list(predicted.prediction) == ["spam", "ham"]
    assert np.allclose(predicted[["probability_ham", "probability_spam"]].sum(axis=1), 1)
    with pytest.raises(mlflow.exceptions.MlflowException, match="column 'text', row 1: .* is not a message string"):
        model.predict(pd.DataFrame({"text": ["ok", None]}))


@pytest.mark.parametrize(
    "strategy",
    [pytest.param(name, marks=pytest.mark.slow) for name in ("frozen", "finetune", "lora")],
)
def test_a_text_model_transfers_to_a_csv_with_the_source_vocabulary(spam_run, tmp_path, run_job, strategy):
    tmp, source = spam_run
    write_reviews(tmp_path / "reviews.csv")
    cfg = compose_config(
        "dataset=csv",
        f"dataset.loader.path={tmp_path / 'reviews.csv'}",
        "dataset.loader.target=kind",
        "dataset.loader.text=[message]",
        "dataset.loader.features=[]",
        "model=text_bag",
        f"strategy={strategy}",
        f"strategy.source.run_id={source.info.run_id}",
        "explainer=none",
        "trainer.epochs=2",
        f"tracking.uri={mlflow_client(tmp).tracking_uri}",  # the source run's store
        f"tracking.artifact_root={tmp}/mlruns",
        "tracking.experiment=reviews",
    )
    run_job(cfg)
    (run,) = [r for r in parent_runs(tmp) if r.data.tags["strategy"] == strategy]
    assert run.data.metrics["test_roc_auc"] > 0.9
    source_vocabulary = logged_model(tmp, source.info.run_id).unwrap_python_model().preprocessors["text"]
    adapted = logged_model(tmp, run.info.run_id)
    vocabulary = adapted.unwrap_python_model().preprocessors["message"]
    assert list(vocabulary[1].get_feature_names_out()) == list(source_vocabulary[1].get_feature_names_out())
    predicted = adapted.predict(pd.DataFrame({"message": ["Claim your FREE ringtone now! Txt WIN to 87121"]}))
    assert list(predicted.prediction) == ["spam"]


def test_a_text_source_must_be_a_run(tmp_path):
    line = rejection(
        tmp_path,
        "dataset=sms_spam",
        "model=text_bag",
        "strategy=frozen",
        f"strategy.source.model_uri={tmp_path / 'encoder.keras'}",
        "explainer=none",
    )
    assert line.startswith("error: strategy.source.model_uri=") and "set run_id instead" in line


@pytest.mark.slow
def test_text_models_train_on_jax(run_cli):
    result = run_cli("dataset=sms_spam", "model=text_linear", "explainer=none", *FAST, backend="jax")
    assert result.returncode == 0, result.stderr[-2000:]
    assert "finished: val_roc_auc=" in result.stdout


@pytest.mark.slow  # the fast lane's CLI tests cover exit 2 (test_bad_inputs); here the text model's message
def test_the_cli_refuses_a_text_model_on_images_with_exit_2_and_no_run(run_cli, tmp_path):
    result = run_cli("dataset=digits", "model=text_bag", "explainer=none")
    assert result.returncode == 2, result.stderr[-2000:]
    (line,) = [line for line in result.stderr.splitlines() if line.startswith("error:")]
    assert line.startswith("error: model=text_bag: takes text inputs") and "choose cnn" in line
    assert not parent_runs(tmp_path)
