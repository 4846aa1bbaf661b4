"""The one error type for bad user input, rendered as a single line by the CLI."""

import difflib
import re
from pathlib import Path


class ConfigError(ValueError):
    """A config value, file or option the user supplied cannot be used.

    The message names the key, the bad value and what is allowed, e.g.
    ``trainer.learning_rate=-1: must be > 0``.
    """

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value}: {allowed}")


class UnknownKeyError(ConfigError):
    """A config key that does not exist: ``trainer.lr: no such key; did you mean trainer.learning_rate?``.

    `known` are the full keys that do exist (nodes and leaves); the suggestion replaces each
    unknown part of `key` by the closest name at that level (see `closest_name`). Without one,
    `hint` ends the message, e.g. " for dataset=breast_cancer; did you mean dataset=csv (...)?".
    """

    def __init__(self, key: str, known, hint: str | None = None):
        self.suggestion = suggest_key(key, known)
        self.key, self.value = key, None
        self.allowed = "no such key" + (f"; did you mean {self.suggestion}?" if self.suggestion else hint or "")
        ValueError.__init__(self, f"{key}: {self.allowed}")


def split_key(key: str) -> list[str]:
    """`a.b[0].c` -> ["a", "b", "[0]", "c"]."""
    return [part for part in re.split(r"\.|(?=\[)", key) if part]


def suggest_key(key: str, known) -> str | None:
    """The known key `key` was most likely meant to be: walk it part by part, keeping parts that
    exist and replacing each one that does not by its closest sibling; None when a part has none."""
    tree: dict = {}
    for name in known:
        node = tree
        for part in split_key(name):
            node = node.setdefault(part, {})
    node, parts = tree, []
    for part in split_key(key):
        if part not in node:
            part = closest_name(part, [name for name in node if not name.startswith("_")])
            if part is None:
                return None
        parts.append(part)
        node = node[part]
    suggestion = ".".join(parts).replace(".[", "[")
    return suggestion if suggestion != key else None


def closest_name(name: str, names: list[str]) -> str | None:
    """The name in `names` that `name` most likely abbreviates or misspells: the same name in another
    case or spelling of separators (learningRate, learning-rate), initials of a snake_case name
    (lr -> learning_rate), a prefix (max_row -> max_rows), else difflib's closest (ratio >= 0.6)."""

    def plain(text: str) -> str:
        return re.sub(r"[-_ ]", "", text).lower()

    for matches in (
        lambda n: plain(n) == plain(name),
        lambda n: "_" in n and name.lower() == "".join(word[0] for word in n.split("_") if word),
        lambda n: len(name) >= 3 and n.lower().startswith(name.lower()),
    ):
        found = [n for n in names if matches(n)]
        if len(found) == 1:
            return found[0]
    close = difflib.get_close_matches(name, names, n=1, cutoff=0.6)
    return close[0] if close else None


def first_line(err: Exception) -> str:
    """An exception's first line of text, white space collapsed (its type name when it has none),
    for one-line errors."""
    text = str(err).strip()
    return " ".join(text.splitlines()[0].split()) if text else type(err).__name__


def make_folder(folder, key: str, remedy: str) -> Path:
    """Create `folder` (and its parents) for the config entry `key`; a one-line ConfigError ending
    in `remedy` when that fails (a file in the way, no permission)."""
    path = Path(folder).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(key, folder, f"cannot create it ({err.strerror}); {remedy}") from err
    return path
