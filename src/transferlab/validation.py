"""Component settings as pydantic models, their errors rendered as the one-line ConfigError.

pydantic rather than Hydra structured configs: Hydra's dataclasses check types only, while the
settings here need ranges (> 0, fractions in (0, 1)), choices and cross-field rules, which
pydantic states declaratively beside each component (see README, "Validation").

Constrained types (`PositiveInt`, `Fraction`, ...) are built with `rule`, so their errors use the
project's wording (`must be a positive integer`) rather than pydantic's.
"""

import math
from collections.abc import Callable, Mapping
from typing import Annotated, Any, TypeVar, get_args

from omegaconf import DictConfig, OmegaConf
from pydantic import BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import PydanticCustomError

from transferlab.errors import ConfigError, UnknownKeyError

SettingsT = TypeVar("SettingsT", bound="Settings")


class Settings(BaseModel):
    """Base of every settings model: unknown keys are errors, no silent type coercion."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def rule(test: Callable[[Any], bool], allowed: str, base: Any = Any) -> Any:
    """A type whose values pass `test`; any other value fails with `allowed`, e.g.
    ``PositiveInt = rule(lambda v: is_int(v) and v > 0, "must be a positive integer", int)``."""

    def check(value):
        if test(value):
            return value
        raise PydanticCustomError("transferlab_rule", allowed.replace("{", "{{").replace("}", "}}"))

    return Annotated[base, PlainValidator(check)]


def is_int(value) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


PositiveInt = rule(lambda v: is_int(v) and v > 0, "must be a positive integer", int)
PositiveNumber = rule(lambda v: is_number(v) and v > 0, "must be a positive number", float)
NonNegativeInt = rule(lambda v: is_int(v) and v >= 0, "must be an integer >= 0", int)
Fraction = rule(lambda v: is_number(v) and 0 < v < 1, "must be a fraction in (0, 1)", float)
FolderOrNull = rule(lambda v: v is None or (isinstance(v, str) and v.strip() != ""), "must be a folder path or null")
OptionalPositiveInt = rule(
    lambda v: v is None or (is_int(v) and v > 0), "must be null or a positive integer", int | None
)


def describe(error: dict) -> str:
    """What is allowed, in the project's words, for one pydantic error."""
    kind, context = error["type"], error.get("ctx") or {}
    bounds = {
        "greater_than": "> {gt}",
        "greater_than_equal": ">= {ge}",
        "less_than": "< {lt}",
        "less_than_equal": "<= {le}",
    }
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
    if kind == "transferlab_rule" or "value" in context:
        return error["msg"]
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
    full = full_key(key, error["loc"])
    if error["type"] == "extra_forbidden":
        return UnknownKeyError(full, [full_key(key, path) for path in field_paths(model)])
    context = error.get("ctx") or {}
    return ConfigError(full, _shown(context.get("value", error["input"])), describe(error))


def full_key(key: str, loc) -> str:
    """`key` and a pydantic location as one config key: ("betas", 1) -> evaluation.betas[1]."""
    text = key
    for part in loc:
        text += f"[{part}]" if isinstance(part, int) else f".{part}"
    return text.strip(".")


def field_paths(model: type[BaseModel], prefix: tuple = ()) -> list[tuple]:
    """Every field of `model` and of the settings models it nests, as locations."""
    paths = []
    for name, field in model.model_fields.items():
        paths.append((*prefix, name))
        for nested in (field.annotation, *get_args(field.annotation)):
            if isinstance(nested, type) and issubclass(nested, BaseModel):
                paths += field_paths(nested, (*prefix, name))
    return paths


def _shown(value: Any):
    return "null" if value is None else value
