"""Credentials out of what a run logs: user info in URIs, values of keys named like secrets."""

import re
from urllib.parse import urlsplit, urlunsplit

MASK = "***"
# Words of a key name (snake_case, kebab-case or camelCase) that mark its value as a secret.
SECRET_WORDS = {"password", "passwd", "passwords", "secret", "secrets", "token", "credential", "credentials"}
SECRET_PAIRS = {("api", "key"), ("private", "key"), ("access", "key")}  # api_key, apiKey, private-key, ...


def is_secret_key(key: str) -> bool:
    """Whether the config key (its last dotted part) names a password, token, secret, API key or
    credential: `password`, `hf_token`, `apiKey`; not `max_tokens` or `tokenizer`."""
    name = re.sub(r"([a-z0-9])([A-Z])", r"\1_\2", key.rsplit(".", 1)[-1].lstrip("+~")).lower()
    words = [word for word in re.split(r"[^a-z0-9]+", name) if word]
    return bool(SECRET_WORDS & set(words)) or bool(SECRET_PAIRS & set(zip(words, words[1:]))) or "apikey" in words


def redact_uri(text: str) -> str:
    """`http://bob:secret@host/x` -> `http://bob:***@host/x`; user info without a password (often a
    token: `https://TOKEN@host`) becomes `***@`. Anything that is not a URI with user info is kept."""
    try:
        parts = urlsplit(text)
    except ValueError:  # e.g. an unbalanced IPv6 bracket: not a URI
        return text
    if not parts.scheme or "@" not in parts.netloc:
        return text
    user_info, _, host = parts.netloc.rpartition("@")
    user, has_password, _ = user_info.partition(":")
    masked = f"{user}:{MASK}" if has_password else MASK
    return urlunsplit(parts._replace(netloc=f"{masked}@{host}"))


def redact(node, key: str = ""):
    """A config container (dicts, lists, scalars) with every value of a secret-named key masked and
    every URI's credentials removed; `key` is the dotted key of `node`. Empty values stay visible."""
    if is_secret_key(key) and node not in (None, ""):
        return MASK
    if isinstance(node, dict):
        return {name: redact(value, f"{key}.{name}" if key else str(name)) for name, value in node.items()}
    if isinstance(node, list):
        return [redact(value, key) for value in node]
    return redact_uri(node) if isinstance(node, str) else node


def redact_override(override: str) -> str:
    """A command-line override `key=value` with its value redacted as `redact` would."""
    key, equals, value = override.partition("=")
    return key + equals + redact(value, key) if equals else override
