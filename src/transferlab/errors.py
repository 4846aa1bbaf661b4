"""The one error type for bad user input, rendered as a single line by the CLI."""


class ConfigError(ValueError):
    """A config value, file or option the user supplied cannot be used.

    The message names the key, the bad value and what is allowed, e.g.
    ``trainer.learning_rate=-1: must be > 0``.
    """

    def __init__(self, key: str, value, allowed: str):
        self.key, self.value, self.allowed = key, value, allowed
        super().__init__(f"{key}={value}: {allowed}")


def first_line(err: Exception) -> str:
    """An exception's first line of text (its type name when it has none), for one-line errors."""
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
