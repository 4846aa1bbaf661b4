"""Component settings as pydantic models, their errors rendered as the one-line ConfigError.

pydantic rather than Hydra structured configs: Hydra's dataclasses check types only, while the
settings here need ranges (> 0, fractions in (0, 1)), choices and cross-field rules, which
pydantic states declaratively beside each component (see README, "Validation").
"""
from collections.abc import Mapping
from typing import Any, TypeVar

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, ValidationError

from transferlab.errors import ConfigError, UnknownKeyError

SettingsT = TypeVar("SettingsT", bound="Settings")


class Settings(BaseModel):
    """Base of every settings model: unknown keys are errors, no silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def describe(error: dict) -> str:
    """What is allowed, in the project's words, for one pydantic error."""
    kind, context = error["type"], error.get("ctx") or {}
    bounds = {"greater_than": "> {gt}", "greater_than_equal": ">= {ge}", "less_than": "< {lt}", "less_than_equal": "<= {le}"}
    if kind in bounds:
        return "must be " + bounds[kind].format(**context)
    if kind == "literal_error":
        return "allowed: " + context["expected"].replace("'", "").replace(" or ", ", ")
    if kind in ("int_type", "int_from_float"):
        return "must be an integer"
    if kind in ("float_type", "float_parsing"):
        return "must be a number"
    if kind == "bool_type":
        return "must be true or false"
    if kind in ("string_type",):
        return "must be a string"
    if kind == "missing":
        return "is required"
    return error["msg"][0].lower() + error["msg"][1:]


def validate(model: type[SettingsT], values: Mapping | DictConfig, key: str) -> SettingsT:
    """`values` as `model`, or the first problem as ConfigError naming `<key>.<field>`."""
    if isinstance(values, DictConfig):
        values = OmegaConf.to_container(values, resolve=True)
    try:
        return model.model_validate(dict(values))
    except ValidationError as err:
        raise settings_error(err, key, model) from None


def settings_error(err: ValidationError, key: str, model: type[BaseModel]) -> ConfigError:
    """The first problem pydantic found, as the one-line error naming the full key."""
    error = err.errors()[0]
    full = ".".join([key, *map(str, error["loc"])]).strip(".")
    if error["type"] == "extra_forbidden":
        known = model.model_fields if len(error["loc"]) == 1 else ()
        return UnknownKeyError(full, [f"{key}.{name}".strip(".") for name in known])
    return ConfigError(full, _shown(error["input"]), describe(error))


def _shown(value: Any):
    return "null" if value is None else value
