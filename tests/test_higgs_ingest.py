"""HIGGS fast ingest: float32 CSV parsing, the .npy row cache, its invalidation and crash safety."""

import gzip
import hashlib
import io
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from conftest import HIGGS_SAMPLE
from transferlab.data import row_cache
from transferlab.data.row_cache import cached_rows, read_rows
from transferlab.errors import ConfigError

SAMPLE = HIGGS_SAMPLE  # 8,000 real rows (tests/data)
KEY = "dataset.loader.path"
N_COLUMNS = 29


def write_uci_like(path: Path, n_rows: int, seed: int = 0) -> np.ndarray:
    """Write rows the way the UCI HIGGS.csv.gz has them (%.18e, label 0./1.); return them as float32."""
    rng = np.random.default_rng(seed)
    rows = np.empty((n_rows, N_COLUMNS), dtype=np.float32)
    rows[:, 0] = rng.integers(0, 2, n_rows)
    rows[:, 1:] = rng.standard_normal((n_rows, N_COLUMNS - 1))
    line = ",".join(["%.18e"] * N_COLUMNS) + "\n"
    data = ((line * n_rows) % tuple(rows.astype(np.float64).ravel())).encode()
    path.write_bytes(gzip.compress(data, compresslevel=1) if path.suffix == ".gz" else data)
    return rows


def small_gz(tmp_path: Path, n_rows: int = 200, seed: int = 0) -> Path:
    source = tmp_path / "HIGGS.csv.gz"
    write_uci_like(source, n_rows, seed)
    return source


def pandas_rows(path: Path) -> np.ndarray:
    return pd.read_csv(path, header=None).to_numpy(np.float32)


def load(source: Path, cache_dir: Path) -> row_cache.CachedRows:
    return cached_rows(source, cache_dir, N_COLUMNS, 0, KEY)


def cache_files(cache_dir: Path) -> list[str]:
    return sorted(p.name for p in cache_dir.iterdir() if p.suffix in (".npy", ".json"))


def forbid_parsing(monkeypatch):
    def parse(*args, **kwargs):
        raise AssertionError("parsed although a trusted cache exists")

    monkeypatch.setattr(row_cache, "parse_float_csv", parse)


@pytest.fixture
def sample() -> Path:
    assert SAMPLE.is_file(), f"HIGGS sample missing: {SAMPLE} (tests/data/make_test_data.py)"
    return SAMPLE


def test_npy_header_leaves_room_for_all_of_higgs():
    lengths = set()
    for shape in [(0, N_COLUMNS), (11_000_000, N_COLUMNS)]:
        buffer = io.BytesIO()
        np.lib.format.write_array_header_1_0(buffer, {"descr": "<f4", "fortran_order": False, "shape": shape})
        lengths.add(len(buffer.getvalue()))
    assert len(lengths) == 1


def test_real_sample_equals_pandas_and_is_cached(sample, tmp_path, monkeypatch):
    first = load(sample, tmp_path)
    expected = pandas_rows(sample)
    assert not first.from_cache and (first.n_rows, first.n_columns) == expected.shape == (8_000, N_COLUMNS)
    assert np.array_equal(read_rows(first, 0, first.n_rows), expected)
    assert np.array_equal(np.load(first.path, mmap_mode="r"), expected)
    assert first.sha256 == hashlib.sha256(sample.read_bytes()).hexdigest()

    forbid_parsing(monkeypatch)
    second = load(sample, tmp_path)
    assert second == row_cache.CachedRows(first.path, first.n_rows, N_COLUMNS, first.sha256, first.header_bytes, True)


def test_plain_csv_equals_pandas(tmp_path):
    source = tmp_path / "rows.csv"
    written = write_uci_like(source, 500)
    rows = load(source, tmp_path / "cache")
    assert np.array_equal(read_rows(rows, 0, rows.n_rows), pandas_rows(source))
    assert np.array_equal(read_rows(rows, 0, rows.n_rows), written)
    assert rows.sha256 == hashlib.sha256(source.read_bytes()).hexdigest()


def test_read_rows_slices_equal_the_full_array(tmp_path):
    rows = load(small_gz(tmp_path), tmp_path / "cache")
    full = np.load(rows.path)
    for start, stop in [(0, 0), (0, 1), (17, 93), (rows.n_rows - 5, rows.n_rows)]:
        assert np.array_equal(read_rows(rows, start, stop), full[start:stop])
    out = np.empty((10, N_COLUMNS), np.float32)
    assert read_rows(rows, 40, 50, out=out) is out and np.array_equal(out, full[40:50])
    with pytest.raises(IndexError):
        read_rows(rows, 0, rows.n_rows + 1)
    with pytest.raises(ValueError):
        read_rows(rows, 0, 10, out=np.empty((10, N_COLUMNS), np.float64))


def test_changed_source_invalidates_the_cache(tmp_path):
    source, cache_dir = small_gz(tmp_path), tmp_path / "cache"
    old = load(source, cache_dir)
    new_rows = write_uci_like(source, 150, seed=1)  # new size and content
    new = load(source, cache_dir)
    assert not new.from_cache and new.path != old.path and new.sha256 != old.sha256
    assert np.array_equal(read_rows(new, 0, new.n_rows), new_rows)
    assert cache_files(cache_dir) == sorted([new.path.name, new.path.with_suffix(".json").name])


def test_same_size_and_mtime_but_new_bytes_invalidates(tmp_path):
    source, cache_dir = tmp_path / "HIGGS.csv", tmp_path / "cache"
    write_uci_like(source, 50)
    old = load(source, cache_dir)
    old_label = read_rows(old, 0, 1)[0, 0]
    stat = source.stat()
    text = source.read_text()
    source.write_text("0" + text[1:] if text[0] == "1" else "1" + text[1:])  # flip the first label
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    new = load(source, cache_dir)
    assert not new.from_cache and new.path != old.path
    assert np.array_equal(read_rows(new, 0, new.n_rows), pandas_rows(source))
    assert read_rows(new, 0, 1)[0, 0] == 1 - old_label and not old.path.exists()


def test_torn_write_is_never_trusted(tmp_path, monkeypatch):
    source, cache_dir = small_gz(tmp_path), tmp_path / "cache"
    append = row_cache._NpyWriter.append

    def torn_append(self, rows):
        append(self, rows[: len(rows) // 2])
        raise OSError("disk pulled mid-write")

    with monkeypatch.context() as patch:
        patch.setattr(row_cache._NpyWriter, "append", torn_append)
        with pytest.raises(OSError, match="disk pulled"):
            load(source, cache_dir)
    assert cache_files(cache_dir) == []
    rows = load(source, cache_dir)
    assert not rows.from_cache and np.array_equal(read_rows(rows, 0, rows.n_rows), pandas_rows(source))


def test_leftovers_of_a_killed_writer_are_ignored_and_removed(tmp_path):
    source, cache_dir = small_gz(tmp_path), tmp_path / "cache"
    cache_dir.mkdir()
    key16 = row_cache.source_key(source, N_COLUMNS, 0)[:16]
    leftovers = [cache_dir / f".tmp-999999-deadbeef-{source.name}.{key16}.{ext}" for ext in ("npy", "json")]
    for path in leftovers:
        path.write_bytes(b"half a file")
    rows = load(source, cache_dir)
    assert not rows.from_cache and not any(path.exists() for path in leftovers)


@pytest.mark.parametrize("damage", ["truncate npy", "delete json", "delete npy", "garble json"])
def test_damaged_cache_is_not_trusted(tmp_path, damage):
    source, cache_dir = small_gz(tmp_path), tmp_path / "cache"
    first = load(source, cache_dir)
    meta = first.path.with_suffix(".json")
    if damage == "truncate npy":
        os.truncate(first.path, first.path.stat().st_size - 4)
    elif damage == "delete json":
        meta.unlink()
    elif damage == "delete npy":
        first.path.unlink()
    else:
        meta.write_text(meta.read_text()[:-20])
    again = load(source, cache_dir)
    assert not again.from_cache
    assert np.array_equal(read_rows(again, 0, again.n_rows), read_rows(first, 0, first.n_rows))
    assert load(source, cache_dir).from_cache


def test_two_processes_parse_once(tmp_path):
    source, cache_dir = small_gz(tmp_path, n_rows=20_000), tmp_path / "cache"
    code = (
        "import sys; from pathlib import Path; from transferlab.data.row_cache import cached_rows; "
        f"print(cached_rows(Path(sys.argv[1]), Path(sys.argv[2]), {N_COLUMNS}, 0, 'k').from_cache)"
    )
    procs = [
        subprocess.Popen([sys.executable, "-c", code, str(source), str(cache_dir)], stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = sorted(proc.communicate(timeout=60)[0].strip() for proc in procs)
    assert outputs == ["False", "True"]
    assert len(cache_files(cache_dir)) == 2


_GOOD = "1,2,3\n0,4,5\n"


@pytest.mark.parametrize(
    "name, text, expected",
    [
        ("columns", _GOOD + "1,2\n", "line 3 has 2 columns, expected 3"),
        ("first line columns", "1,2,3,4\n" + _GOOD, "line 1 has 4 columns, expected 3"),
        ("every line short", "1,2\n0,4\n", "line 1 has 2 columns, expected 3"),
        ("non-numeric", _GOOD + "1,2,abc\n", "line 3, column 2: not a number ('abc')"),
        ("empty cell", _GOOD + "0,,3\n", "line 3, column 1: empty or missing value"),
        ("blank line", _GOOD + "\n" + _GOOD, "line 3 is empty"),
        ("label 2", _GOOD + "2,1,1\n", "line 3, label column 0: value 2, expected 0 or 1"),
        ("infinite", _GOOD + "1,inf,1\n", "line 3, column 1: infinite value (inf)"),
        ("empty file", "", "file is empty"),
    ],
)
@pytest.mark.parametrize("suffix", [".csv", ".csv.gz"])
def test_bad_input_names_the_line(tmp_path, name, text, expected, suffix):
    source = tmp_path / f"bad{suffix}"
    source.write_bytes(gzip.compress(text.encode()) if suffix == ".csv.gz" else text.encode())
    with pytest.raises(ConfigError) as caught:
        cached_rows(source, tmp_path / "cache", 3, 0, KEY)
    message = str(caught.value)
    assert message == f"{KEY}={source}: {expected}" and "\n" not in message
    assert cache_files(tmp_path / "cache") == []


def test_bad_value_far_into_the_file_is_located(tmp_path):
    source = tmp_path / "late.csv"
    lines = [f"{i % 2},{i},{i / 3}" for i in range(300_000)]
    lines[250_000] = "0,7,oops"
    source.write_text("\n".join(lines) + "\n")
    with pytest.raises(ConfigError, match=r"line 250001, column 2: not a number \('oops'\)"):
        cached_rows(source, tmp_path / "cache", 3, 0, KEY)


def test_truncated_gzip(tmp_path):
    source = small_gz(tmp_path)
    source.write_bytes(source.read_bytes()[:-100])
    with pytest.raises(
        ConfigError, match=r"cannot read the file \(Compressed file ended before the end-of-stream marker was reached\)"
    ):
        load(source, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.npy"))


def test_corrupt_gzip(tmp_path):
    source = small_gz(tmp_path)
    data = bytearray(source.read_bytes())
    data[len(data) // 2 : len(data) // 2 + 64] = bytes(64)  # zeroed bytes mid-stream
    source.write_bytes(bytes(data))
    with pytest.raises(ConfigError, match=r"HIGGS.csv.gz: cannot read the file \(.+\)"):
        load(source, tmp_path / "cache")
    assert not list((tmp_path / "cache").glob("*.npy"))


def test_missing_source_and_bad_label_column(tmp_path):
    with pytest.raises(ConfigError, match="file does not exist"):
        load(tmp_path / "nope.csv.gz", tmp_path / "cache")
    with pytest.raises(ValueError, match="label_column 29"):
        cached_rows(small_gz(tmp_path), tmp_path / "cache", N_COLUMNS, 29, KEY)


def test_download_lands_in_the_data_dir_and_is_found_there_next_time(tmp_path):
    """With no path and nothing cached, the URL is downloaded (Keras' get_file) into
    <data_dir>/higgs/<filename>; the next call finds it there and never touches the URL."""
    from transferlab.data.higgs import load_higgs

    served = tmp_path / "served.csv.gz"
    source = write_uci_like(served, 50)
    data_dir, cache_dir = tmp_path / "data", tmp_path / "cache"
    downloaded = load_higgs(path=None, data_dir=str(data_dir), url=served.as_uri(), cache_dir=str(cache_dir))
    assert (data_dir / "higgs" / "HIGGS.csv.gz").read_bytes() == served.read_bytes()
    x, y = downloaded.read(0, 50)
    np.testing.assert_array_equal(x, source[:, 1:])
    np.testing.assert_array_equal(y, source[:, 0])
    again = load_higgs(
        path=None, data_dir=str(data_dir), url="http://127.0.0.1:9/HIGGS.csv.gz", cache_dir=str(cache_dir)
    )
    assert again.rows.from_cache and again.rows.sha256 == downloaded.rows.sha256


def test_download_into_a_folder_that_cannot_be_created_is_a_clear_error(tmp_path):
    from transferlab.data.higgs import load_higgs

    (tmp_path / "file").write_text("not a folder")
    with pytest.raises(ConfigError) as error:
        load_higgs(
            path=None,
            data_dir=str(tmp_path / "file" / "data"),
            url="http://127.0.0.1:9/HIGGS.csv.gz",
            cache_dir=str(tmp_path / "cache"),
        )
    assert error.value.key == "dataset.loader.data_dir" and "cannot create" in str(error.value)
