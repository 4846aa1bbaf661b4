"""The one error type for bad user input, rendered as a single line by the CLI."""
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
    """A config key that does not exist: ``trainer.lr: no such key; did you mean trainer.learning_rate?``."""

    def __init__(self, key: str, known):
        import difflib

        close = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
        self.key, self.value, self.allowed = key, None, "no such key" + (f"; did you mean {close[0]}?" if close else "")
        ValueError.__init__(self, f"{key}: {self.allowed}")


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
