"""Credentials never reach what a run logs of its config: params, config/resolved.yaml, overrides, tags."""

import pytest
from conftest import compose_config

from transferlab.tracking.params import flatten_config, logged_config
from transferlab.tracking.redaction import is_secret_key, redact, redact_override, redact_uri

SECRET = "s3cr3t-Pa55"


@pytest.mark.parametrize(
    ("uri", "redacted"),
    [
        (f"http://bob:{SECRET}@tracking.example:5000", "http://bob:***@tracking.example:5000"),
        (f"https://bob:{SECRET}@host/prefix?x=1", "https://bob:***@host/prefix?x=1"),
        (f"postgresql://bob:p@ss{SECRET}@db:5432/mlflow", "postgresql://bob:***@db:5432/mlflow"),
        (f"https://{SECRET}@github.com/org/repo", "https://***@github.com/org/repo"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:////tmp/mlflow.db", "sqlite:////tmp/mlflow.db"),
        ("someone@example.org", "someone@example.org"),
        ("/data/file.csv", "/data/file.csv"),
    ],
)
def test_uri_user_info_is_redacted(uri, redacted):
    assert redact_uri(uri) == redacted


@pytest.mark.parametrize(
    "key", ["password", "tracking.password", "hf_token", "apiKey", "api-key", "aws_secret", "credentials"]
)
def test_secret_keys(key):
    assert is_secret_key(key)


@pytest.mark.parametrize("key", ["max_tokens", "tokenizer", "keys", "key", "monkey", "trainer.learning_rate", ""])
def test_ordinary_keys(key):
    assert not is_secret_key(key)


def test_secret_values_are_masked_at_any_depth():
    config = {"a": {"db_password": SECRET, "api_key": None, "urls": [f"http://u:{SECRET}@h"], "n": 3}}
    assert redact(config) == {"a": {"db_password": "***", "api_key": None, "urls": ["http://u:***@h"], "n": 3}}


def test_logged_config_params_and_yaml_hold_no_credentials():
    """What log_config logs, from a config composed as `python run.py` would: the URI keeps its user
    and host, loses its password; a secret-named key added on the command line is masked."""
    from omegaconf import OmegaConf

    cfg = compose_config(
        f"tracking.uri=http://bob:{SECRET}@127.0.0.1:5000",
        f"+tracking.api_token={SECRET}",
        f"+dataset.source_url=https://{SECRET}@data.example/x.csv",
    )
    params = flatten_config(cfg)
    assert params["tracking.uri"] == "http://bob:***@127.0.0.1:5000"
    assert params["tracking.api_token"] == "***"
    assert params["dataset.source_url"] == "https://***@data.example/x.csv"
    assert params["trainer.learning_rate"] == str(cfg.trainer.learning_rate)  # the rest unchanged
    assert SECRET not in str(params)
    assert SECRET not in OmegaConf.to_yaml(logged_config(cfg))


def test_overrides_are_redacted():
    assert redact_override(f"tracking.uri=http://bob:{SECRET}@h:5000") == "tracking.uri=http://bob:***@h:5000"
    assert redact_override(f"+tracking.password={SECRET}") == "+tracking.password=***"
    assert redact_override("trainer.epochs=2") == "trainer.epochs=2"


def test_run_tags_hold_no_credentials():
    """The job run's tags from a real model builder and data: a URI with a password in a tagged
    value (here the free-form `study`) keeps its user and host, loses its password."""
    from transferlab.data.loading import load_prepared
    from transferlab.distribution import Distribution
    from transferlab.pipeline import build_model, run_tags

    cfg = compose_config(f"study=https://bob:{SECRET}@studies.example/transfer")
    tags = run_tags(cfg, build_model(cfg.model), load_prepared(cfg.dataset), "cpu", Distribution("none", ("cpu:0",)))
    assert tags["study"] == "https://bob:***@studies.example/transfer"
    assert tags["dataset"] == "breast_cancer"
    assert SECRET not in str(tags)
