"""The UCI SMS Spam Collection (Almeida & Gómez Hidalgo 2011): 5,574 messages, `label<TAB>text`, no header."""

import zipfile
from pathlib import Path

import pandas as pd

from transferlab.data.csv_table import text_columns, table_from_frame
from transferlab.data.files import locate_file
from transferlab.data.table import Table
from transferlab.errors import ConfigError, first_line

KEY = "dataset.loader"
SUBDIR = "text"
FILENAME = "SMSSpamCollection"
ARCHIVE = "sms_spam_collection.zip"  # what `url` (UCI's zip) is saved as; the file is read from inside it


def load_sms_spam(path, data_dir: str, url: str | None) -> Table:
    """SMSSpamCollection at `path`, else <data_dir>/text/SMSSpamCollection, else UCI's zip (cached
    beside it, or downloaded from `url`). Classes ham, spam; one text input, `text`."""
    cached = Path(data_dir).expanduser() / SUBDIR / FILENAME
    if path or cached.is_file():
        file = locate_file(path, data_dir, SUBDIR, FILENAME, None, KEY)
    else:
        try:
            file = locate_file(None, data_dir, SUBDIR, ARCHIVE, url, KEY)
        except ConfigError as err:  # offline: the plain file is what most users have at hand
            raise ConfigError(err.key, err.value, f"{err.allowed.split(';')[0]}; put {FILENAME} at {cached}") from err
    frame = read_messages(file)
    frame, texts = text_columns(frame, ["text"], str(file))
    return table_from_frame(frame, "label", [], name="sms_spam", source=str(file), texts=texts)


def read_messages(file: Path) -> pd.DataFrame:
    """label and text columns of the tab-separated file, or of the file of that name inside a zip."""
    options = {"sep": "\t", "header": None, "names": ["label", "text"], "quoting": 3, "dtype": str}
    try:
        if zipfile.is_zipfile(file):
            with zipfile.ZipFile(file) as archive, archive.open(FILENAME) as member:
                return pd.read_csv(member, **options)
        return pd.read_csv(file, **options)
    except (KeyError, pd.errors.ParserError, UnicodeDecodeError, pd.errors.EmptyDataError) as err:
        raise ConfigError(f"{KEY}.path", str(file), f"not the SMS Spam Collection ({first_line(err)})") from err
