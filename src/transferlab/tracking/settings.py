"""Tracking settings (`tracking`, conf/tracking/*.yaml): where runs go and what MLflow samples;
credentials come from MLflow's environment variables only, never from the config."""

from omegaconf import DictConfig
from pydantic import ValidationInfo, field_validator
from pydantic_core import PydanticCustomError

from transferlab.errors import ConfigError
from transferlab.tracking.redaction import MASK, is_secret_key, redact_uri
from transferlab.unknown_keys import override_key
from transferlab.validation import FolderOrNull, PositiveNumber, Settings, rule, validate

CREDENTIAL_VARIABLES = "MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD (or MLFLOW_TRACKING_TOKEN)"
SERVER_URI = (
    "tracking=server needs the http:// or https:// URI of an MLflow tracking server; "
    "set tracking.uri=http://HOST:PORT or MLFLOW_TRACKING_URI"
)
SERVER_ARTIFACTS = "must be null with tracking=server: the server keeps the artifacts (--artifacts-destination)"
StoreUri = rule(lambda v: isinstance(v, str) and v.strip() != "", "must be an MLflow tracking URI", str)


def is_server_uri(uri) -> bool:
    """Whether `uri` names a tracking server (http/https) rather than a local store."""
    return isinstance(uri, str) and uri.startswith(("http://", "https://"))


class TrackingSettings(Settings):
    """Everything under `tracking`; the comments in conf/tracking/mlflow.yaml say what each does."""

    server: bool = False  # first: the checks of uri and artifact_root read it
    uri: StoreUri
    artifact_root: FolderOrNull
    experiment: str
    log_model: bool = True
    skip_finished: bool = True
    system_metrics: bool = False
    system_metrics_interval_s: PositiveNumber = 10

    @field_validator("uri", mode="before")
    @classmethod
    def server_uri(cls, uri, info: ValidationInfo):
        if info.data.get("server") and not is_server_uri(uri):
            shown = redact_uri(uri) if isinstance(uri, str) else uri
            raise PydanticCustomError("transferlab_rule", SERVER_URI, {"value": shown})
        return uri

    @field_validator("artifact_root", mode="before")
    @classmethod
    def no_local_artifacts(cls, folder, info: ValidationInfo):
        if info.data.get("server") and folder is not None:
            raise PydanticCustomError("transferlab_rule", SERVER_ARTIFACTS, {"value": folder})
        return folder


def credentials_error(key: str) -> ConfigError:
    """The error for a credential given as the config key `key` (its value is not shown)."""
    return ConfigError(key, MASK, f"credentials are not read from the config; set {CREDENTIAL_VARIABLES}")


def check_credential_overrides(overrides: list[str]) -> None:
    """ConfigError for a command-line override that sets a credential under `tracking`."""
    for override in overrides:
        key = override_key(override)
        if key.startswith("tracking.") and is_secret_key(key):
            raise credentials_error(key)


def check_tracking(tracking: DictConfig) -> TrackingSettings:
    """The tracking settings, after refusing any credential-named key (credentials_error)."""
    for key in tracking:
        if is_secret_key(str(key)):
            raise credentials_error(f"tracking.{key}")
    return validate(TrackingSettings, tracking, "tracking")
