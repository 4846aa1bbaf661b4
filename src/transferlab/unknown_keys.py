"""A command line's overrides checked against the composed config before Hydra runs the job, so
that a key that does not exist is one line (`trainer.lr: no such key; did you mean
trainer.learning_rate?`) instead of Hydra's multi-line "Key 'lr' is not in struct" report.

Composition is Hydra's own (hydra.compose), so its semantics hold: `+new.key=...` adds a key,
`++key=...` adds or overrides, `~key` deletes. Multirun sweeps are composed once per combination
of the swept config-group choices (which decide what keys exist), with the first value of each
other swept key.
"""

import itertools
import re

from hydra import compose, initialize_config_dir
from hydra.core.override_parser.overrides_parser import OverridesParser
from hydra.errors import ConfigCompositionException, HydraException
from omegaconf import DictConfig, ListConfig, OmegaConf

from transferlab.conf_options import CONF_DIR, group_options, is_config_group
from transferlab.errors import UnknownKeyError

MISSING_KEY = (
    r"Could not override '(?P<override>[^']+)'",
    r"Could not delete from config\. '(?P<delete>[^']+)' does not exist",
)


def check_keys(overrides: list[str], config_name: str = "config") -> None:
    """UnknownKeyError for the first override whose key the composed config does not have."""
    for job in job_overrides(overrides):
        key = unknown_key(job, config_name)
        if key is not None:
            raise unknown_key_error(key, [o for o in job if override_key(o) != key], config_name)


def job_overrides(overrides: list[str]) -> list[list[str]]:
    """One override list per combination of swept group choices (a sweep of a plain key keeps its
    first value); `overrides` itself when there is no sweep or Hydra's parser rejects them."""
    try:
        parsed = OverridesParser.create().parse_overrides(overrides)
    except HydraException:
        return [overrides]  # Hydra reports malformed overrides itself
    choices = []
    for text, override in zip(overrides, parsed):
        if not override.is_sweep_override():
            choices.append([text])
            continue
        try:
            values = list(override.sweep_string_iterator())
        except Exception:  # e.g. glob(): Hydra expands it against the options itself
            return []
        key = override.get_key_element()
        kept = values if is_config_group(override.key_or_group.lstrip("/")) else values[:1]
        choices.append([f"{key}={value}" for value in kept])
    return [list(job) for job in itertools.product(*choices)]


def unknown_key(overrides: list[str], config_name: str) -> str | None:
    """The key of the override Hydra could not apply because the key does not exist, else None."""
    try:
        composed(overrides, config_name)
    except ConfigCompositionException as err:
        for pattern in MISSING_KEY:
            found = re.search(pattern, str(err))
            if found and (found.group(0).startswith("Could not delete") or "not in" in str(err.__cause__)):
                return found.group("override") if "override" in found.groupdict() else found.group("delete")
    return None


def composed(overrides: list[str], config_name: str) -> DictConfig:
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        return compose(config_name=config_name, overrides=overrides, return_hydra_config=True)


def override_key(text: str) -> str:
    return text.split("=", 1)[0].lstrip("~+")


def unknown_key_error(key: str, others: list[str], config_name: str) -> UnknownKeyError:
    """The error for `key`, with the closest existing key of the config composed from the other
    overrides; or, when the key belongs to a config group, the group's options that have it."""
    try:
        cfg = composed(others, config_name)
    except HydraException:
        return UnknownKeyError(key, [])
    error = UnknownKeyError(key, config_keys(cfg))
    if error.suggestion is None:
        group = key.split(".", 1)[0]
        hint = option_hint(group, key, cfg)
        if hint:
            return UnknownKeyError(key, [], hint)
    return error


def config_keys(node, prefix: str = "") -> list[str]:
    """Every key of a config (nodes and leaves), dotted, without resolving interpolations."""
    if isinstance(node, (DictConfig, ListConfig)):
        node = OmegaConf.to_container(node, resolve=False)
    keys = []
    for name, value in node.items():
        keys.append(f"{prefix}{name}")
        if isinstance(value, dict):
            keys += config_keys(value, f"{prefix}{name}.")
    return keys


def option_hint(group: str, key: str, cfg: DictConfig) -> str | None:
    """'did you mean dataset=csv (which has dataset.loader.target)?' when another option of the
    config group `group` has `key` (or a close spelling of it)."""
    options = group_options().get(group)
    if not options or not (CONF_DIR / group).is_dir():
        return None
    chosen = cfg.hydra.runtime.choices.get(group)
    if chosen is None and isinstance(cfg.get(group), DictConfig):  # a list option: explainer=[a,b]
        names = list(cfg[group])
        chosen = names[0] if len(names) == 1 else "[" + ",".join(names) + "]"
    for option in options:
        path = CONF_DIR / group / f"{option}.yaml"
        if (
            option == chosen
            or (chosen and option in str(chosen).strip("[]").split(","))
            or not path.is_file()
            or "@package _global_" in path.read_text().split("\n", 1)[0]
        ):
            continue
        node = OmegaConf.load(path)
        if not isinstance(node, DictConfig):
            continue
        known = [f"{group}.{k}" for k in config_keys(node) if not k.startswith("defaults")]
        match = key if key in known else UnknownKeyError(key, known).suggestion
        if match:
            where = f" for {group}={chosen}" if chosen else ""
            return f"{where}; did you mean {group}={option} (which has {match})?"
    return None
