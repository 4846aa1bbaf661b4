"""A memory-mappable float32 cache of a parsed numeric CSV, keyed by the source file.

The cache is one plain .npy file (C order, shape (n_rows, n_columns)), so anyone can
`np.load(path, mmap_mode="r")` it, plus a JSON sidecar that says which source it was made from:

    <cache_dir>/<source name>.<key16>.npy
    <cache_dir>/<source name>.<key16>.json

The key is cheap to compute even for the HIGGS.csv.gz download (size, mtime_ns and the sha256 of
the first and last MiB); the full sha256 of the source is computed while parsing and stored for
runs to log. A cache is trusted only when its JSON carries the current key and the .npy header
and size agree with it. Both files are written under temporary names and renamed (.npy first,
JSON last), so a crash never leaves a pair that a later call trusts; a lock file serialises
processes that want the same source, and the one that waited uses the other's cache.

Written here rather than with joblib.Memory (which also memory-maps cached arrays and renames
atomically) because that caches a function's return value: the whole parsed array would sit in
memory before being written, where streaming batches into the .npy keeps parse memory near one
batch (measurements: benchmarks/README.md, 'Why the code is shaped this way').
"""

import hashlib
import json
import os
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from filelock import FileLock

from transferlab.data.float_csv import parse_float_csv
from transferlab.errors import ConfigError

FORMAT_VERSION = 1  # part of the key: bump it when the cache layout or parsing rules change
_EDGE_BYTES = 1 << 20  # head and tail hashed into the cheap key
_DESCR = np.lib.format.dtype_to_descr(np.dtype(np.float32))


@dataclass(frozen=True)
class CachedRows:
    """Where a source's rows live on disk, and how they were obtained."""

    path: Path  # the .npy
    n_rows: int
    n_columns: int
    sha256: str  # full content sha256 of the source file
    header_bytes: int  # byte offset of row 0 in the .npy
    from_cache: bool  # True when no parsing happened in this call


def cached_rows(source: Path, cache_dir: Path, n_columns: int, label_column: int | None, key: str) -> CachedRows:
    """The rows of `source` as a trusted .npy in `cache_dir`, parsing the CSV only when needed.

    `key` names the config entry in errors, e.g. ConfigError("dataset.loader.path", source, ...).
    """
    source, cache_dir = Path(source), Path(cache_dir)
    if not source.is_file():
        raise ConfigError(key, source, "file does not exist")
    cache_dir.mkdir(parents=True, exist_ok=True)
    cache_key = source_key(source, n_columns, label_column)
    found = _trusted(cache_dir, source.name, cache_key, n_columns)
    if found:
        return found
    with FileLock(cache_dir / f"{source.name}.lock"):
        # Another process may have written it while this one waited for the lock.
        found = _trusted(cache_dir, source.name, cache_key, n_columns)
        if found:
            return found
        return _write_cache(source, cache_dir, cache_key, n_columns, label_column, key)


def read_rows(rows: CachedRows, start: int, stop: int, out: np.ndarray | None = None) -> np.ndarray:
    """rows[start:stop] as float32 (stop - start, n_columns), read into `out` or a new array.

    Plain reads rather than a long-lived memmap, so the file's pages stay in the page cache
    and never count towards this process's RSS.
    """
    if not 0 <= start <= stop <= rows.n_rows:
        raise IndexError(f"rows {start}:{stop} outside 0:{rows.n_rows} of {rows.path}")
    shape = (stop - start, rows.n_columns)
    if out is None:
        out = np.empty(shape, dtype=np.float32)
    elif out.shape != shape or out.dtype != np.float32 or not out.flags.c_contiguous or not out.flags.writeable:
        raise ValueError(f"out must be a writeable C-contiguous float32 array of shape {shape}")
    view = out.reshape(-1).view(np.uint8)  # a flat byte view of `out` (memoryview.cast rejects 0 rows)
    with open(rows.path, "rb", buffering=0) as file:
        file.seek(rows.header_bytes + start * rows.n_columns * out.itemsize)
        filled = 0
        while filled < len(view):
            n = file.readinto(view[filled:])
            if not n:
                raise EOFError(f"{rows.path} ends before row {stop}")
            filled += n
    return out


def source_key(source: Path, n_columns: int, label_column: int | None) -> str:
    """sha256 of the parse settings, size, mtime_ns and the first and last MiB of `source`."""
    stat = source.stat()
    digest = hashlib.sha256(f"{FORMAT_VERSION}:{n_columns}:{label_column}:{stat.st_size}:{stat.st_mtime_ns}:".encode())
    with open(source, "rb") as file:
        digest.update(file.read(_EDGE_BYTES))
        file.seek(max(0, stat.st_size - _EDGE_BYTES))
        digest.update(file.read(_EDGE_BYTES))
    return digest.hexdigest()


def _cache_paths(cache_dir: Path, source_name: str, cache_key: str) -> tuple[Path, Path]:
    stem = f"{source_name}.{cache_key[:16]}"
    return cache_dir / f"{stem}.npy", cache_dir / f"{stem}.json"


def _trusted(cache_dir: Path, source_name: str, cache_key: str, n_columns: int) -> CachedRows | None:
    """The cache for `cache_key` if its JSON, .npy header and .npy size all agree, else None."""
    npy, meta_path = _cache_paths(cache_dir, source_name, cache_key)
    try:
        meta = json.loads(meta_path.read_text())
        if meta["key"] != cache_key or meta["n_columns"] != n_columns:
            return None
        header_bytes, shape = _npy_header(npy)
        n_rows = meta["n_rows"]
        if shape != (n_rows, n_columns) or npy.stat().st_size != header_bytes + n_rows * n_columns * 4:
            return None
        return CachedRows(npy, n_rows, n_columns, str(meta["sha256"]), header_bytes, from_cache=True)
    except (OSError, ValueError, KeyError, TypeError):  # missing, torn or foreign files: not ours
        return None


def _npy_header(npy: Path) -> tuple[int, tuple[int, ...]]:
    """(offset of the data, shape) of a version 1.0, C-order float32 .npy; ValueError otherwise."""
    with open(npy, "rb") as file:
        if np.lib.format.read_magic(file) != (1, 0):
            raise ValueError(f"{npy}: not a version 1.0 .npy")
        shape, fortran_order, dtype = np.lib.format.read_array_header_1_0(file)
        if fortran_order or dtype != np.float32:
            raise ValueError(f"{npy}: not C-order float32")
        return file.tell(), shape


class _NpyWriter:
    """Appends row batches to a .npy whose length is only known at the end.

    numpy pads headers so that axis 0 can grow to 21 digits, so the header written for
    (0, n_columns) is rewritten in place with the final shape without moving the data.
    """

    def __init__(self, file, n_columns: int):
        self._file, self._n_columns, self.n_rows = file, n_columns, 0
        self._write_header()
        self.header_bytes = file.tell()

    def _write_header(self) -> None:
        header = {"descr": _DESCR, "fortran_order": False, "shape": (self.n_rows, self._n_columns)}
        np.lib.format.write_array_header_1_0(self._file, header)

    def append(self, rows: np.ndarray) -> None:
        """Write one C-contiguous float32 batch."""
        self._file.write(rows.data)
        self.n_rows += len(rows)

    def finish(self) -> None:
        """Write the final shape into the header and make the file durable."""
        self._file.seek(0)
        self._write_header()
        if self._file.tell() != self.header_bytes:
            raise RuntimeError(f"npy header grew from {self.header_bytes} to {self._file.tell()} bytes")
        self._file.flush()
        os.fsync(self._file.fileno())


def _write_cache(
    source: Path, cache_dir: Path, cache_key: str, n_columns: int, label_column: int | None, key: str
) -> CachedRows:
    """Parse `source` into a new trusted cache, then drop older caches and temp files of that source."""
    npy, meta_path = _cache_paths(cache_dir, source.name, cache_key)
    tag = f".tmp-{os.getpid()}-{secrets.token_hex(4)}-"
    tmp_npy, tmp_meta = npy.with_name(tag + npy.name), meta_path.with_name(tag + meta_path.name)
    try:
        with open(tmp_npy, "wb") as file:
            writer = _NpyWriter(file, n_columns)
            parsed = parse_float_csv(source, n_columns, writer.append, key=key, label_column=label_column)
            writer.finish()
        if source_key(source, n_columns, label_column) != cache_key:
            raise ConfigError(key, source, "the file changed while it was being read; run again")
        stat = source.stat()
        meta = {
            "format": FORMAT_VERSION,
            "source": str(source.resolve()),
            "size": stat.st_size,
            "mtime_ns": stat.st_mtime_ns,
            "key": cache_key,
            "sha256": parsed.sha256,
            "n_rows": parsed.n_rows,
            "n_columns": n_columns,
            "label_column": label_column,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        with open(tmp_meta, "w") as file:
            json.dump(meta, file, indent=1)
            file.flush()
            os.fsync(file.fileno())
        # The JSON goes last: until it is in place, nothing trusts the new .npy.
        os.replace(tmp_npy, npy)
        os.replace(tmp_meta, meta_path)
        _fsync_dir(cache_dir)
    finally:
        tmp_npy.unlink(missing_ok=True)
        tmp_meta.unlink(missing_ok=True)
    _remove_stale(cache_dir, source.name, keep={npy.name, meta_path.name})
    return CachedRows(npy, parsed.n_rows, n_columns, parsed.sha256, writer.header_bytes, from_cache=False)


def _remove_stale(cache_dir: Path, source_name: str, keep: set[str]) -> None:
    """Delete other caches of `source_name` and temp files left by crashed writers (lock held)."""
    name = re.escape(source_name)
    stale = re.compile(rf"(\.tmp-\d+-[0-9a-f]{{8}}-)?{name}\.[0-9a-f]{{16}}\.(npy|json)")
    for path in cache_dir.iterdir():
        if path.name not in keep and stale.fullmatch(path.name):
            path.unlink(missing_ok=True)


def _fsync_dir(directory: Path) -> None:
    """Make the renames in `directory` durable."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
