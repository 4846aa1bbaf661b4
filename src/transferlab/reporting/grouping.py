"""Group-by keys and baseline groups named on the command line, resolved against the selected runs."""

import difflib

import pandas as pd

from transferlab.errors import ConfigError


def key_name(column: str) -> str:
    """`params.strategy.name` -> `strategy.name`, `tags.arm` -> `arm`."""
    return column.removeprefix("params.").removeprefix("tags.")


def group_columns(runs: pd.DataFrame, keys: list[str]) -> list[str]:
    """The runs column of each key: a logged config key (`params.<key>`) first, else a tag (`tags.<key>`);
    `params.x` / `tags.x` name one explicitly. A key no selected run has is a ConfigError."""
    columns = []
    for key in keys:
        candidates = [key] if key.startswith(("params.", "tags.")) else [f"params.{key}", f"tags.{key}"]
        found = [c for c in candidates if c in runs and runs[c].notna().any()]
        if not found:
            known = sorted(key_name(c) for c in runs if c.startswith(("params.", "tags.")))
            close = difflib.get_close_matches(key_name(key), known, n=3)
            hint = f"; did you mean {', '.join(close)}?" if close else ""
            raise ConfigError("--group-by", key, f"no selected run has it as a config key (param) or tag{hint}")
        columns.append(found[0])
    return columns


def baseline_label(text: str, columns: list[str]) -> str:
    """`arm=mlp_scratch` (or `a=x,b=y` over several group-by keys, or a bare group label) as the label
    statistics.group_labels gives that group."""
    if "=" not in text:
        return text
    values = dict(part.split("=", 1) for part in text.split(","))
    keys = [key_name(c) for c in columns]
    values = {key_name(k.strip()): v.strip() for k, v in values.items()}
    if sorted(values) != sorted(keys):
        raise ConfigError("--baseline", text, f"name one value for each group-by key ({', '.join(keys)})")
    if len(keys) == 1:
        return values[keys[0]]
    return ", ".join(f"{key}={values[key]}" for key in keys)
