"""Find a dataset file: an explicit path, the local data directory, or a download into it."""

import os
from pathlib import Path

from transferlab.errors import ConfigError, make_folder


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
    where = (
        f"put {filename} at {cached}, set TRANSFERLAB_DATA_DIR to a folder holding {subdir}/{filename}, "
        f"or set {key}.path"
    )
    # Keras' get_file downloads into /tmp/.keras when its cache_dir is missing or read-only, where
    # the next run's lookup would not find the file: so the folder must exist and be writable.
    folder = make_folder(data_dir, f"{key}.data_dir", f"downloads go there; {where}")
    if not os.access(folder, os.W_OK):
        raise ConfigError(f"{key}.data_dir", data_dir, f"the folder to download into is not writable; {where}")
    import keras

    try:
        return Path(keras.utils.get_file(fname=filename, origin=url, cache_dir=str(folder), cache_subdir=subdir))
    except Exception as err:  # get_file wraps every network failure in a plain Exception
        raise ConfigError(f"{key}.url", url, f"download failed ({type(err).__name__}); {where}") from err
