"""Read a user's CSV file into a DataFrame, with one-line errors for the ways a file's layout goes wrong:
no rows, a repeated column name, or a separator other than the one the loader was given."""

import csv
from pathlib import Path

import pandas as pd

from transferlab.errors import ConfigError, first_line

PATH_KEY = "dataset.loader.path"
SEP_KEY = "dataset.loader.sep"
SEPARATORS = ",;\t|"  # what the separator hint looks for
SNIFF_ROWS = 20


def read_csv_file(
    path, sep: str = ",", key: str = PATH_KEY, sep_key: str | None = SEP_KEY, headerless_names=None
) -> pd.DataFrame:
    """`path` read by pandas with separator `sep`; `headerless_names` name the columns of a copy
    whose first line holds only numbers (no header).

    `sep_key` is the loader option that sets `sep` (None: the loader reads ','-separated files
    only); errors name `key` and the file.
    """
    file = Path(path).expanduser()
    if not file.is_file():
        raise ConfigError(key, path, "file does not exist")
    sep = checked_sep(sep, sep_key)
    try:
        first = first_line_cells(file, sep)
        names = headerless_names if headerless_names and all(map(is_number, first)) else None
        frame = pd.read_csv(file, sep=sep, header=None if names else "infer", names=names)
    except pd.errors.EmptyDataError as err:
        raise ConfigError(key, path, "file is empty") from err
    except (pd.errors.ParserError, UnicodeDecodeError) as err:
        raise ConfigError(key, path, f"not a readable CSV ({first_line(err)})") from err
    if len(frame.columns) == 1:
        raise ConfigError(key, path, f"one column {frame.columns[0]!r}{separator_hint(frame, sep, sep_key)}")
    if names is None:
        check_unique_names(first, key, path)
    if frame.empty:
        raise ConfigError(key, path, f"no data rows, only a header ({', '.join(map(str, frame.columns))})")
    return frame


def checked_sep(sep, sep_key: str | None) -> str:
    """`sep`, with the two characters backslash + t (what Hydra passes for '\\t') read as a tab."""
    if not isinstance(sep, str) or not sep:
        raise ConfigError(sep_key or PATH_KEY, sep, "must be the separator character, e.g. ',', ';' or '\\t'")
    return "\t" if sep == "\\t" else sep


def first_line_cells(file: Path, sep: str) -> list[str]:
    """The first line's cells as written: pandas renames repeated header names (a, a.1), so read it as data."""
    first = pd.read_csv(file, sep=sep, header=None, nrows=1, dtype=str, keep_default_na=False)
    return first.iloc[0].tolist()


def check_unique_names(names: list[str], key: str, path) -> None:
    """No column name twice (pandas would silently call the second one `<name>.1`)."""
    counts = pd.Series(names).value_counts(sort=False)
    repeated = counts[counts > 1]
    if len(repeated):
        raise ConfigError(
            key,
            path,
            f"column {repeated.index[0]!r} appears {int(repeated.iloc[0])} times in the header; "
            "give each column its own name",
        )


def separator_hint(frame: pd.DataFrame, sep: str, sep_key: str | None) -> str:
    """The rest of the error for a file read as one column: the separator csv.Sniffer finds in its
    first lines (each of them is one cell of `frame`), and the option that sets it."""
    sample = "\n".join(map(str, [frame.columns[0], *frame.iloc[:SNIFF_ROWS, 0]]))
    try:
        found = csv.Sniffer().sniff(sample, delimiters=SEPARATORS).delimiter
    except csv.Error:  # no separator stands out
        found = sep
    if found == sep:
        return f"; a table needs a target and feature columns, separated by {sep!r}"
    shown = found.encode("unicode_escape").decode()  # a tab as \t
    if sep_key is None:
        return f": the file looks '{shown}'-separated; this loader reads {sep!r}-separated files"
    return f": the file looks '{shown}'-separated; add \"{sep_key}='{shown}'\""


def is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True
