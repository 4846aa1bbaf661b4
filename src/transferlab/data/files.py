"""Find a dataset file: an explicit path, the local data directory, or a download into it."""
from pathlib import Path

from transferlab.errors import ConfigError


def locate_file(path: str | None, data_dir: str, subdir: str, filename: str, url: str | None, key: str) -> Path:
    """Return a readable local file for a dataset.

    Order: `path` (must exist), then <data_dir>/<subdir>/<filename>, then a download of `url` to
    that place (Keras' get_file: progress bar, atomic write). Offline, the error says where to put it.
    """
    if path:
        explicit = Path(path).expanduser()
        if not explicit.is_file():
            raise ConfigError(f"{key}.path", path, "file does not exist")
        return explicit.resolve()
    cached = Path(data_dir).expanduser() / subdir / filename
    if cached.is_file():
        return cached
    if not url:
        raise ConfigError(f"{key}.path", None, f"no file given and none cached at {cached}")
    import keras

    try:
        return Path(keras.utils.get_file(fname=filename, origin=url, cache_dir=str(Path(data_dir).expanduser()), cache_subdir=subdir))
    except Exception as err:  # get_file wraps every network failure in a plain Exception
        raise ConfigError(
            f"{key}.url", url,
            f"download failed ({type(err).__name__}); put {filename} at {cached}, "
            f"set TRANSFERLAB_DATA_DIR to a folder holding {subdir}/{filename}, or set {key}.path",
        ) from err
