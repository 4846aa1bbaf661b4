"""Parse a headerless numeric CSV (plain or .gz) straight into float32 row batches.

pyarrow's streaming CSV reader converts every cell to float32 in C++, so there is never a
float64 DataFrame of the whole file: each record batch is turned into one C-contiguous
(rows, n_columns) float32 array and handed to a writer. The source bytes are hashed as they
are read, so the digest describes exactly the bytes that were parsed.

Bad input raises ConfigError naming the 1-based line. pyarrow does not say which row failed,
so a failed block is located by re-reading the file up to it (slow, but only on the error path).

.gz files are inflated with ISA-L (`isal.igzip`, faster than the zlib inside pyarrow), in
pyarrow's reader thread, so parsing on the other cores overlaps it
(measurements: benchmarks/README.md, 'Why the code is shaped this way').
"""

import hashlib
import io
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
from isal import igzip

from transferlab.errors import ConfigError, first_line

# Larger blocks parse slower, and pyarrow reads a fixed number of blocks ahead, so buffer memory
# grows with the block size, never with the file
# (measurements: benchmarks/README.md, 'Why the code is shaped this way').
BLOCK_SIZE = 1 << 20

_COUNT_ERROR = re.compile(r"Expected \d+ columns, got \d+")
_VALUE_ERROR = re.compile(r"In CSV column #(\d+): CSV conversion error to float: invalid value '(.*)'")


@dataclass(frozen=True)
class ParsedCsv:
    """What a full pass over the source produced."""

    n_rows: int
    sha256: str  # of the source file's bytes as stored (compressed, for .gz)


class _HashingReader(io.RawIOBase):
    """A raw binary file that feeds every byte it reads to sha256."""

    def __init__(self, raw):
        self._raw = raw
        self.digest = hashlib.sha256()

    def readable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        n = self._raw.readinto(buffer)
        self.digest.update(memoryview(buffer)[:n])
        return n

    def close(self) -> None:
        self._raw.close()
        super().close()


def _compression(source: Path) -> str | None:
    return "gzip" if source.suffix == ".gz" else None


def parse_float_csv(
    source: Path,
    n_columns: int,
    write: Callable[[np.ndarray], None],
    *,
    key: str,
    label_column: int | None = None,
    block_size: int = BLOCK_SIZE,
) -> ParsedCsv:
    """Stream `source` to `write` as float32 (rows, n_columns) batches, validating as it goes.

    Every line must hold `n_columns` numbers; the `label_column` (if given) must be 0 or 1.
    Errors are ConfigError(key, source, ...) naming the line. Blank lines count as rows (and fail)
    so that row i is always line i + 1. A batch array is the writer's to keep.
    """
    if label_column is not None and not 0 <= label_column < n_columns:
        raise ValueError(f"label_column {label_column} outside 0..{n_columns - 1}")
    n_rows = 0
    with _HashingReader(open(source, "rb", buffering=0)) as hashing:
        text = igzip.IGzipFile(fileobj=hashing, mode="rb") if _compression(source) else hashing
        # Buffered: unbuffered, pyarrow calls into Python (and takes the GIL) for every 64 KiB.
        stream = pa.BufferedInputStream(pa.PythonFile(text, mode="r"), 4 << 20)
        for rows in _checked_batches(stream, source, key, n_columns, label_column, block_size):
            write(rows)
            n_rows += len(rows)
        # The digest must cover the whole file even if the decoder stopped before its end.
        while hashing.read(1 << 20):
            pass
    # pyarrow's allocator keeps freed blocks for reuse; hand them back so the run's resident
    # memory holds the training arrays, not parser leftovers.
    pa.default_memory_pool().release_unused()
    return ParsedCsv(n_rows, hashing.digest.hexdigest())


def _checked_batches(
    stream, source: Path, key: str, n_columns: int, label_column: int | None, block_size: int
) -> Iterator[np.ndarray]:
    """Validated row arrays from pyarrow's reader, its errors turned into ConfigErrors.

    A generator, so an exception raised by the caller's writer is never mistaken for a read error.
    """
    rows_done = 0
    try:
        reader = pacsv.open_csv(
            stream,
            read_options=pacsv.ReadOptions(autogenerate_column_names=True, block_size=block_size),
            parse_options=pacsv.ParseOptions(quote_char=False, ignore_empty_lines=False),
            convert_options=pacsv.ConvertOptions(column_types={f"f{i}": pa.float32() for i in range(n_columns)}),
        )
        if len(reader.schema) != n_columns:  # every line had the same, wrong, count
            raise _located_count_error(source, key, 0, n_columns)
        for batch in reader:
            rows = _to_rows(batch)
            _check_rows(rows, rows_done, label_column, source, key)
            yield rows
            rows_done += len(rows)
    except pa.ArrowInvalid as err:
        raise _arrow_error(err, source, key, rows_done, n_columns) from err
    except (OSError, EOFError) as err:  # inflate errors: corrupt data (OSError), cut-off file (EOFError)
        raise ConfigError(key, source, f"cannot read the file ({first_line(err)})") from err


def _to_rows(batch: pa.RecordBatch) -> np.ndarray:
    """The batch as a C-contiguous float32 (rows, columns) array; nulls become NaN."""
    rows = np.empty((batch.num_rows, batch.num_columns), dtype=np.float32)
    for j, column in enumerate(batch.columns):
        rows[:, j] = column.to_numpy(zero_copy_only=False)
    return rows


def _check_rows(rows: np.ndarray, first_row: int, label_column: int | None, source: Path, key: str) -> None:
    """Reject missing or infinite cells and labels other than 0/1; `first_row` is the 0-based row of rows[0]."""
    bad_cells = ~np.isfinite(rows)
    if bad_cells.any():
        row, column = np.argwhere(bad_cells)[0]
        line = first_row + int(row) + 1
        if np.isnan(rows[row]).all():
            raise ConfigError(key, source, f"line {line} is empty")
        if np.isinf(rows[row, column]):
            raise ConfigError(key, source, f"line {line}, column {column}: {_infinite(source, line, column)}")
        raise ConfigError(key, source, f"line {line}, column {column}: empty or missing value")
    if label_column is not None:
        labels = rows[:, label_column]
        bad = np.flatnonzero((labels != 0) & (labels != 1))
        if bad.size:
            row = int(bad[0])
            raise ConfigError(
                key,
                source,
                f"line {first_row + row + 1}, label column {label_column}: value {labels[row]:g}, expected 0 or 1",
            )


def _infinite(source: Path, line: int, column: int) -> str:
    """What a cell that parsed as infinite holds: an infinity, or a number beyond float32's range
    (pyarrow turns those into inf too). Its text is read again from the file: only on this error path."""
    _, cells = _find_line(source, line - 1, lambda cells: True)
    text = _cell_text(cells[column])
    if np.isfinite(float(text)):
        return f"{_shorten(text)} is beyond float32's range (+-{np.finfo(np.float32).max:.1e})"
    return f"infinite value ({text})"


def _arrow_error(err: pa.ArrowInvalid, source: Path, key: str, rows_done: int, n_columns: int) -> ConfigError:
    """Translate pyarrow's message (which has no row number) into a ConfigError naming the line."""
    message = str(err)
    if message.startswith("Empty CSV file"):
        return ConfigError(key, source, "file is empty")
    if _COUNT_ERROR.search(message):
        return _located_count_error(source, key, rows_done, n_columns)
    value_error = _VALUE_ERROR.search(message)
    if value_error:
        column, text = int(value_error[1]), value_error[2]
        found = _find_line(source, rows_done, lambda cells: len(cells) > column and _cell_text(cells[column]) == text)
        where = f"line {found[0]}" if found else f"at or after line {rows_done + 1}"
        return ConfigError(key, source, f"{where}, column {column}: not a number ({_shorten(text)!r})")
    return ConfigError(key, source, f"not a readable CSV ({first_line(err)})")


def _located_count_error(source: Path, key: str, first_row: int, n_columns: int) -> ConfigError:
    """The error for the first line at or after `first_row` without `n_columns` cells."""
    found = _find_line(source, first_row, lambda cells: len(cells) != n_columns)
    if found is None:
        return ConfigError(key, source, f"a line at or after line {first_row + 1} does not have {n_columns} columns")
    line, cells = found
    if cells == [b""]:
        return ConfigError(key, source, f"line {line} is empty, expected {n_columns} columns")
    return ConfigError(key, source, f"line {line} has {len(cells)} columns, expected {n_columns}")


def _find_line(
    source: Path, first_row: int, is_bad: Callable[[list[bytes]], bool], chunk_size: int = 4 << 20
) -> tuple[int, list[bytes]] | None:
    """(1-based line number, cells) of the first line from row `first_row` on for which `is_bad` holds.

    Lines before `first_row` are only counted (bytes.count), so reaching a late block costs
    about one inflate of the file, not a Python loop over its lines.
    """
    with pa.input_stream(str(source), compression=_compression(source)) as stream:
        line_no, tail = 0, b""
        while chunk := stream.read(chunk_size):
            data = tail + chunk
            complete = data.count(b"\n")
            if line_no + complete <= first_row:
                line_no += complete
                tail = data[data.rfind(b"\n") + 1 :]
                continue
            *lines, tail = data.split(b"\n")
            for line in lines:
                line_no += 1
                if line_no > first_row and is_bad(cells := line.rstrip(b"\r").split(b",")):
                    return line_no, cells
        if tail and line_no >= first_row and is_bad(cells := tail.rstrip(b"\r").split(b",")):
            return line_no + 1, cells
    return None


def _cell_text(cell: bytes) -> str:
    """A cell as pyarrow quotes it in conversion errors (surrounding spaces trimmed)."""
    return cell.decode("utf-8", "replace").strip()


def _shorten(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[:limit] + "..."
