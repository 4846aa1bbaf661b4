"""Hostile numbers and files (issue 17): infinities, numbers beyond float32, missing values without an
imputation to fill them, header-only files, repeated column names and the wrong separator are one-line
errors from the loaders, before any run starts; and loading data does not import Keras.

Checked through the public loader (`load_prepared` on a composed config); one job through the CLI's
in-process path (`conftest.rejection`)."""

import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from PIL import Image

from conftest import DATA_DIR, FAST, REPO_ROOT, compose_config, rejection, subprocess_env
from transferlab.cli import find_config_error
from transferlab.data.loading import load_prepared

HEADER = "a,b,c,y\n"


def rows(n: int = 40, sep: str = ",") -> str:
    """Two-class rows of three numeric features."""
    return "".join(sep.join(map(str, (i % 7, (i * 3) % 11 / 10, i % 5, i % 2))) + "\n" for i in range(n))


def with_line(value: str) -> str:
    """A CSV whose 21st data row has `value` in column b."""
    return HEADER + rows(20) + f"3,{value},1,1\n" + rows(20)


def csv_file(tmp_path, text: str, name: str = "data.csv") -> str:
    path = tmp_path / name
    path.write_text(text)
    return str(path)


def load_error(*overrides: str) -> str:
    """The one-line error `load_prepared` raises for the composed dataset (a ConfigError, also when
    Hydra's instantiate wrapped it)."""
    with pytest.raises(Exception) as caught:
        load_prepared(compose_config(*overrides).dataset)
    error = find_config_error(caught.value)
    assert error is not None, f"not a ConfigError: {caught.value!r}"
    assert "\n" not in str(error)
    return str(error)


def csv_dataset(path: str) -> tuple[str, ...]:
    return ("dataset=csv", f"dataset.loader.path={path}", "dataset.loader.target=y")


def csv_error(path: str, *overrides: str) -> str:
    return load_error(*csv_dataset(path), *overrides)


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("1e308", "column 'b', data row 21: 1e+308 is beyond float32's range (+-3.4e+38)"),
        ("-4e38", "column 'b', data row 21: -4e+38 is beyond float32's range (+-3.4e+38)"),
        ("inf", "column 'b', data row 21: infinite value (inf)"),
        ("-inf", "column 'b', data row 21: infinite value (-inf)"),
        ("1e999", "column 'b', data row 21: infinite value (inf)"),
    ],
    ids=["1e308", "-4e38", "inf", "-inf", "1e999"],
)
def test_infinite_or_float32_overflowing_number_names_column_and_row(tmp_path, value, expected):
    path = csv_file(tmp_path, with_line(value))
    assert csv_error(path) == f"dataset.loader.path={path}: {expected}; fix or remove it (an empty cell is imputed)"


def test_missing_values_are_imputed_but_a_column_without_any_training_value_is_refused(tmp_path):
    """NaN is allowed where preprocessing imputes it: any numeric column (median), zeros_as_missing
    columns, categorical columns (most frequent). A column with no value in the training rows has
    nothing to impute from (scikit-learn would silently drop it)."""
    text = "a,b,c,city,y\n" + "".join(
        f"{'' if i % 9 == 0 else i % 7},{'' if i % 8 == 0 else (0 if i % 4 == 0 else i / 10)},"
        f"{i % 3},{'' if i % 6 == 0 else ['x', 'z'][i % 2]},{i % 2}\n"
        for i in range(60)
    )
    path = csv_file(tmp_path, text)
    data = load_prepared(
        compose_config(
            "dataset=csv",
            f"dataset.loader.path={path}",
            "dataset.loader.target=y",
            "dataset.loader.categorical=[city]",
            "dataset.loader.zeros_as_missing=[b]",
        ).dataset
    )
    assert all(np.isfinite(split.inputs["features"]).all() for split in (data.train, data.val, data.test))

    empty = csv_file(tmp_path, "a,b,c,y\n" + "".join(f"{i % 7},0,,{i % 2}\n" for i in range(60)), "empty.csv")
    assert csv_error(empty) == (
        f"dataset.loader.path={empty}: column 'c' has no value in the 38 training rows (all missing); "
        "nothing to impute it from: fill it in or leave it out of the features"
    )
    zeros = csv_error(empty, "dataset.loader.features=[a,b]", "dataset.loader.zeros_as_missing=[b]")
    assert "column 'b' has no value in the 38 training rows (all missing or 0 (zeros_as_missing))" in zeros


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(HEADER, "no data rows, only a header (a, b, c, y)", id="header-only"),
        pytest.param("", "file is empty", id="empty"),
        pytest.param(
            "a,b,a,y\n" + rows(), "column 'a' appears 2 times in the header; give each column its own name", id="dup"
        ),
        pytest.param(
            "a;b;c;y\n" + rows(sep=";"),
            "one column 'a;b;c;y': the file looks ';'-separated; add \"dataset.loader.sep=';'\"",
            id="semicolon",
        ),
        pytest.param(
            "a\tb\tc\ty\n" + rows(sep="\t"),
            "one column 'a\\tb\\tc\\ty': the file looks '\\t'-separated; add \"dataset.loader.sep='\\t'\"",
            id="tab",
        ),
    ],
)
def test_file_layout_errors_say_what_to_do(tmp_path, text, expected):
    path = csv_file(tmp_path, text)
    assert csv_error(path) == f"dataset.loader.path={path}: {expected}"


@pytest.mark.filterwarnings("error::pandas.errors.ParserWarning")  # '\\t' as a regex: pandas' slow Python parser
@pytest.mark.parametrize("sep", [";", "\t"])
def test_the_separator_the_error_suggests_works(tmp_path, sep):
    """The override the error prints, as the shell hands it to Hydra (outer double quotes removed)."""
    path = csv_file(tmp_path, HEADER.replace(",", sep) + rows(sep=sep))
    suggested = csv_error(path).split('add "')[1].rstrip('"')
    data = load_prepared(compose_config(*csv_dataset(path), suggested).dataset)
    assert data.specs["features"].raw_columns == ("a", "b", "c")
    assert csv_error(path, "dataset.loader.sep=''") == (
        "dataset.loader.sep=: must be the separator character, e.g. ',', ';' or '\\t'"
    )


def test_every_table_loader_refuses_what_it_cannot_impute(tmp_path):
    """pima, HAM10000's metadata, multimodal_csv (checked before its images are read) and HIGGS
    (no imputation at all: a missing value is refused too) name the column and the row."""
    pima = pd.read_csv(DATA_DIR / "pima" / "diabetes.csv").astype({"Glucose": float})
    pima.loc[5, "Glucose"] = np.inf
    pima_csv = tmp_path / "diabetes.csv"
    pima.to_csv(pima_csv, index=False)
    assert load_error("dataset=pima", f"dataset.loader.path={pima_csv}").startswith(
        f"dataset.loader.path={pima_csv}: column 'Glucose', data row 6: infinite value (inf)"
    )

    metadata = pd.read_csv(DATA_DIR / "ham10000" / "HAM10000_metadata.csv")
    metadata.loc[7, "age"] = 1e39
    metadata_csv = tmp_path / "HAM10000_metadata.csv"
    metadata.to_csv(metadata_csv, index=False)
    assert load_error("dataset=ham10000_metadata", f"dataset.loader.metadata.path={metadata_csv}").startswith(
        f"dataset.loader.metadata={metadata_csv}: column 'age', data row 8: 1e+39 is beyond float32's range"
    )

    cases = csv_file(tmp_path, "age,path,y\n" + "".join(f"{i},{i}.png,{i % 2}\n" for i in range(9)) + "-inf,9.png,1\n")
    assert load_error("dataset=multimodal_csv", f"dataset.loader.path={cases}", "dataset.loader.target=y").startswith(
        f"dataset.loader.path={cases}: column 'age', data row 10: infinite value (-inf)"
    )

    higgs = tmp_path / "HIGGS.csv"
    lines = [",".join([str(i % 2)] + ["0.5"] * 28) for i in range(50)]
    lines[9] = "1,0.5,0.5,1e308" + ",0.5" * 25
    higgs.write_text("\n".join(lines) + "\n")
    higgs_overrides = ("dataset=higgs", f"dataset.loader.path={higgs}", f"paths.cache_dir={tmp_path}/cache")
    assert load_error(*higgs_overrides) == (
        f"dataset.loader.path={higgs}: line 10, column 3: 1e308 is beyond float32's range (+-3.4e+38)"
    )
    lines[9] = "1,0.5,0.5,nan" + ",0.5" * 25
    higgs.write_text("\n".join(lines) + "\n")
    assert load_error(*higgs_overrides).endswith("line 10, column 3: empty or missing value")


def test_an_overflowing_csv_stops_the_job_before_any_run(tmp_path):
    """The issue's case: 1e308 used to train two epochs on NaN and fail at evaluation."""
    path = csv_file(tmp_path, with_line("1e308"))
    line = rejection(tmp_path, *FAST, "explainer=none", *csv_dataset(path))
    assert line.startswith(f"error: dataset.loader.path={path}: column 'b', data row 21: 1e+308 is beyond")


LOAD_WITHOUT_KERAS = """
import sys
from omegaconf import OmegaConf
import transferlab.data.loading
from transferlab.errors import ConfigError

for file in sys.argv[2:]:
    transferlab.data.loading.load_prepared(OmegaConf.load(file))
try:
    transferlab.data.loading.load_prepared(OmegaConf.load(sys.argv[1]))
except Exception as err:
    while err is not None and not isinstance(err, ConfigError):
        err = err.__cause__
    print("error:", err)
print("imported:", *sorted(m for m in ("keras", "tensorflow", "jax") if m in sys.modules))
"""


def test_loading_and_rejecting_data_does_not_import_keras(tmp_path):
    """Every dataset but image_folder (read by Keras) loads in a fresh process without Keras, so a
    CLI that loads data before the backend can report data errors in seconds."""
    (tmp_path / "images").mkdir()
    for i in range(30):
        Image.fromarray(np.full((4, 4, 3), i * 8, np.uint8)).save(tmp_path / "images" / f"{i}.png")
    cases = csv_file(
        tmp_path, "age,path,y\n" + "".join(f"{i},images/{i}.png,{i % 2}\n" for i in range(30)), "cases.csv"
    )
    datasets = [
        ("bad", csv_dataset(csv_file(tmp_path, with_line("inf")))),
        ("csv", csv_dataset(csv_file(tmp_path, HEADER + rows(), "ok.csv"))),
        ("pima", ("dataset=pima",)),
        ("ham10000", ("dataset=ham10000",)),
        ("multimodal", ("dataset=multimodal_csv", f"dataset.loader.path={cases}", "dataset.loader.target=y")),
        ("higgs", ("dataset=higgs", "dataset.loader.filename=HIGGS_subset_uci.csv.gz", "dataset.loader.url=null",
                   "dataset.split.n_train=2000", "dataset.split.n_test=2000", f"paths.cache_dir={tmp_path}/cache")),
        ("digits", ("dataset=digits",)),
        ("mnist", ("dataset=mnist", "dataset.split.subset=300")),
    ]  # fmt: skip
    files = []
    for name, overrides in datasets:
        files.append(tmp_path / f"{name}.yaml")
        OmegaConf.save(compose_config(*overrides).dataset, files[-1], resolve=True)
    result = subprocess.run(
        [sys.executable, "-c", LOAD_WITHOUT_KERAS, *map(str, files)],
        cwd=REPO_ROOT,
        env=subprocess_env(),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert result.stdout.splitlines() == [
        f"error: dataset.loader.path={tmp_path}/data.csv: column 'b', data row 21: infinite value (inf); "
        "fix or remove it (an empty cell is imputed)",
        "imported:",
    ]
