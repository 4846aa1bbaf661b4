"""Tables with images: dataset=ham10000 (metadata joined on image_id), dataset=multimodal_csv, grouped
splits, dataset.subgroups and dataset.select_inputs."""

import logging
import re

import numpy as np
import pandas as pd
import pytest
from conftest import DATA_DIR, FAST, all_runs, compose_config, describe, rejection
from hydra.utils import instantiate
from PIL import Image

from transferlab.data.ham10000 import HMNIST_CODES, load_ham10000
from transferlab.data.inputs import InputKind
from transferlab.data.loading import load_prepared
from transferlab.data.multimodal_csv import load_multimodal_csv
from transferlab.data.preprocessing import prepare
from transferlab.data.splits import split_table
from transferlab.data.table import Table
from transferlab.errors import ConfigError

HAM_DIR = DATA_DIR / "ham10000"
METADATA = HAM_DIR / "HAM10000_metadata.csv"
SUBGROUPS = ["sex", "dx_type", "age", "localization"]


@pytest.fixture(scope="module")
def npz() -> dict[str, np.ndarray]:
    """The 300-image test subset, rows in metadata order."""
    with np.load(HAM_DIR / "ham10000_28x28_rgb_subset.npz", allow_pickle=True) as archive:
        return dict(archive)


@pytest.fixture(scope="module")
def metadata() -> pd.DataFrame:
    return pd.read_csv(METADATA)


def write_npz(path, npz, rows=None, **arrays):
    """A copy of the subset (its `rows` in that order), with `arrays` replaced."""
    rows = np.arange(len(npz["images"])) if rows is None else rows
    np.savez(path, **({"images": npz["images"][rows], "image_id": npz["image_id"][rows]} | arrays))
    return path


def load(images_path, metadata_path=METADATA, **options) -> Table:
    return load_ham10000(
        "/nonexistent", {"path": str(metadata_path)}, {"path": str(images_path)}, drop_unknown=False, **options
    )


# --- dataset=ham10000: the join on image_id --------------------------------------------------------


def test_images_join_their_own_metadata_rows_whatever_the_npz_order(tmp_path, npz, metadata):
    shuffled = np.random.default_rng(0).permutation(len(npz["images"]))
    table = load(write_npz(tmp_path / "shuffled.npz", npz, shuffled))
    assert list(table.attributes["image_id"]) == list(metadata["image_id"])  # metadata order
    assert np.array_equal(table.images["image"], npz["images"])  # npz rows are in metadata order
    assert table.images["image"].dtype == np.uint8 and table.table_input == "metadata"
    assert list(table.features.columns) == ["age", "sex", "localization"]
    assert table.class_names == sorted(HMNIST_CODES)


def test_metadata_rows_without_an_image_are_dropped_and_counted(tmp_path, npz, metadata, caplog):
    rows = np.random.default_rng(1).permutation(len(npz["images"]))[:200]
    with caplog.at_level(logging.INFO, logger="transferlab.data.ham10000"):
        table = load(write_npz(tmp_path / "part.npz", npz, rows))
    assert "100 of 300 metadata rows have no image" in caplog.text
    assert sorted(table.attributes["image_id"]) == sorted(npz["image_id"][rows])
    by_id = dict(zip(npz["image_id"], npz["images"]))
    assert all(np.array_equal(image, by_id[i]) for i, image in zip(table.attributes["image_id"], table.images["image"]))


def test_images_without_metadata_are_dropped_with_a_warning(tmp_path, npz, caplog):
    extra_id = np.array(["ISIC_9999999"], dtype=object)
    path = write_npz(
        tmp_path / "extra.npz",
        npz,
        images=np.concatenate([npz["images"], npz["images"][:1]]),
        image_id=np.concatenate([npz["image_id"], extra_id]),
    )
    with caplog.at_level(logging.INFO, logger="transferlab.data.ham10000"):
        table = load(path)
    assert "1 images of extra.npz have no metadata row: dropped" in caplog.text
    assert len(table.features) == 300


def test_no_image_id_in_common_is_an_error(tmp_path, npz):
    path = write_npz(tmp_path / "other.npz", npz, image_id=np.array([f"X_{i}" for i in range(300)], dtype=object))
    with pytest.raises(ConfigError, match=r"^dataset\.loader\.images=.*other\.npz: no image_id in common"):
        load(path)


@pytest.mark.parametrize(
    "images, message",
    [
        (np.zeros((300, 28, 28), np.uint8), r"must have shape \(N, H, W, 3\) \(RGB\); got \(300, 28, 28\)"),
        (np.zeros((300, 28, 28, 1), np.uint8), r"must have shape .*; got \(300, 28, 28, 1\)"),
        (np.zeros((300, 28, 28, 3), np.float32), "must be uint8 or integers 0..255; got float32"),
        (np.full((300, 28, 28, 3), 256, np.int16), "must be uint8 or integers 0..255; got int16"),
    ],
)
def test_wrong_image_shape_or_dtype_is_an_error(tmp_path, npz, images, message):
    with pytest.raises(ConfigError, match=r"^dataset\.loader\.images=.*bad\.npz: images " + message):
        load(write_npz(tmp_path / "bad.npz", npz, images=images))


def test_integer_pixels_within_0_255_are_accepted(tmp_path, npz):
    table = load(write_npz(tmp_path / "int.npz", npz, images=npz["images"].astype(np.int64)))
    assert table.images["image"].dtype == np.uint8 and np.array_equal(table.images["image"], npz["images"])


def test_missing_image_file_offline_says_where_to_put_it(tmp_path):
    line = rejection(tmp_path, *FAST, "dataset=ham10000", "dataset.loader.images.filename=hmnist_28_28_RGB.csv")
    assert line == (
        f"error: dataset.loader.images.path=None: no file given and none cached at {HAM_DIR / 'hmnist_28_28_RGB.csv'}"
    )


def write_hmnist(path, npz, labels=None):
    """Kaggle's hmnist_28_28_RGB.csv layout: pixel0000..pixel2351 ((28, 28, 3) flattened) and label."""
    frame = pd.DataFrame(npz["images"].reshape(len(npz["images"]), -1)).add_prefix("pixel")
    frame["label"] = npz["label_hmnist"] if labels is None else labels
    frame.to_csv(path, index=False)
    return path


def test_kaggle_hmnist_csv_pairs_rows_with_the_metadata_by_position(tmp_path, npz, metadata):
    table = load(write_hmnist(tmp_path / "hmnist_28_28_RGB.csv", npz))
    assert np.array_equal(table.images["image"], npz["images"])
    assert list(table.attributes["image_id"]) == list(metadata["image_id"])


def test_kaggle_hmnist_csv_out_of_metadata_order_is_an_error(tmp_path, npz):
    labels = npz["label_hmnist"].copy()
    labels[[0, -1]] = labels[[-1, 0]]
    message = r"2 labels disagree with the metadata's dx \(first: data row 1, label 0, dx bkl\)"
    with pytest.raises(ConfigError, match=message):
        load(write_hmnist(tmp_path / "hmnist.csv", npz, labels))
    short = {name: npz[name][:-1] for name in ("images", "label_hmnist")}
    with pytest.raises(ConfigError, match="has 299 rows, the metadata 300"):
        load(write_hmnist(tmp_path / "short.csv", short))


# --- dataset=ham10000 through the config: split, preprocessing, subgroups, select_inputs -------------


@pytest.fixture(scope="module")
def ham():
    """dataset=ham10000 on tests/data: the table, its grouped split and the prepared data."""
    cfg = compose_config("dataset=ham10000")
    table = instantiate(cfg.dataset.loader)
    split = split_table(table, **cfg.dataset.split)
    return table, split, prepare(table, split, cfg.dataset.inputs, ["image_id", *SUBGROUPS])


def test_ham10000_inputs_are_metadata_and_raw_pixel_images(ham):
    table, split, data = ham
    assert list(data.specs) == ["metadata", "image"]
    assert data.specs["image"].kind == InputKind.IMAGE and data.specs["image"].shape == (28, 28, 3)
    assert data.specs["metadata"].raw_columns == ("age", "sex", "localization")
    pixels = data.train.inputs["image"]
    assert pixels.dtype == np.float32 and pixels.max() > 1  # unscaled 0..255
    assert list(data.raw_examples.columns) == ["age", "sex", "localization"]
    assert "unknown" not in set(table.features["sex"]) | set(table.features["localization"])
    assert sum(data.sizes().values()) == len(table.features)


def test_test_images_and_attributes_belong_to_the_test_rows(ham, npz, metadata):
    _, split, data = ham
    attributes = data.test_attributes
    assert list(attributes.columns) == ["image_id", *SUBGROUPS] and len(attributes) == data.test.n_rows
    by_id = dict(zip(npz["image_id"], npz["images"]))
    for image_id, image in zip(attributes["image_id"], data.test.inputs["image"]):
        assert np.array_equal(image, by_id[image_id])
    rows = metadata.set_index("image_id").loc[attributes["image_id"]]
    pd.testing.assert_series_equal(attributes["age"], rows["age"].reset_index(drop=True), check_names=False)
    assert list(attributes["dx_type"]) == list(rows["dx_type"])
    assert list(data.class_names[i] for i in data.test.labels) == list(rows["dx"])


def test_ham10000_preprocessing_is_fitted_on_training_rows_only(ham):
    table, split, data = ham
    numeric = data.preprocessors["metadata"].named_transformers_["numeric"]
    train_age = split.x_train["age"]
    assert numeric.named_steps["simpleimputer"].statistics_[0] == train_age.median()
    scaler_mean = numeric.named_steps["standardscaler"].mean_[0]
    assert scaler_mean == pytest.approx(train_age.fillna(train_age.median()).mean())
    assert scaler_mean != pytest.approx(table.features["age"].fillna(table.features["age"].median()).mean())
    train_pixels = table.images["image"][split.x_train.index.to_numpy()].astype(np.float64)
    assert data.specs["image"].channel_mean == pytest.approx(tuple(train_pixels.mean(axis=(0, 1, 2))))
    assert data.specs["image"].channel_mean != pytest.approx(tuple(table.images["image"].mean(axis=(0, 1, 2))))


def test_ham10000_split_keeps_seed_002s_proportions(ham):
    table, split, _ = ham
    n = len(table.features)
    assert len(split.x_test) / n == pytest.approx(0.3, abs=0.02)
    assert len(split.x_val) / (n - len(split.x_test)) == pytest.approx(0.3, abs=0.02)


def grouped_table(n_groups=400, seed=0) -> Table:
    """Groups of 1 to 6 rows sharing one of 3 imbalanced labels, like HAM10000's lesions."""
    rng = np.random.default_rng(seed)
    sizes = rng.integers(1, 7, n_groups)
    group_labels = rng.choice(3, n_groups, p=[0.7, 0.2, 0.1])
    groups = np.repeat([f"L{g}" for g in range(n_groups)], sizes)
    features = pd.DataFrame({"x": rng.normal(size=len(groups))})
    return Table(
        "grouped",
        features,
        np.repeat(group_labels, sizes),
        ["a", "b", "c"],
        attributes=pd.DataFrame({"lesion_id": groups}),
    )


def test_grouped_split_shares_no_group_and_keeps_proportions():
    table = grouped_table()
    split = split_table(table, test_size=0.3, val_size=0.3, seed=42, stratify=True, group_column="lesion_id")
    groups = table.attributes["lesion_id"]
    parts = [set(groups[x.index]) for x in (split.x_train, split.x_val, split.x_test)]
    assert not (parts[0] & parts[1] or parts[0] & parts[2] or parts[1] & parts[2])
    n = len(groups)
    assert sorted(np.concatenate([x.index for x in (split.x_train, split.x_val, split.x_test)])) == list(range(n))
    assert len(split.x_test) / n == pytest.approx(0.3, abs=0.03)
    assert len(split.x_val) / (n - len(split.x_test)) == pytest.approx(0.3, abs=0.03)
    overall = np.bincount(table.target) / n
    for y in (split.y_train, split.y_val, split.y_test):
        assert np.allclose(np.bincount(y, minlength=3) / len(y), overall, atol=0.04)
    for x, y in ((split.x_train, split.y_train), (split.x_test, split.y_test)):
        assert np.array_equal(table.target[x.index], y)
    naive = split_table(table, test_size=0.3, val_size=0.3, seed=42, stratify=True, group_column=None)
    assert set(groups[naive.x_train.index]) & set(groups[naive.x_test.index])  # what grouping prevents


def test_unknown_group_column_is_an_error():
    with pytest.raises(
        ConfigError, match=r"^dataset\.split\.group_column=patient: not a column of <frame>; columns: x"
    ):
        split_table(grouped_table(), 0.3, 0.3, 42, True, group_column="patient")


def test_subgroups_default_and_bad_column(tmp_path):
    data = load_prepared(compose_config("dataset=ham10000").dataset)
    assert list(data.test_attributes.columns) == SUBGROUPS and len(data.test_attributes) == data.test.n_rows
    assert data.test_attributes["age"].dtype.kind == "f"
    assert load_prepared(compose_config("dataset=pima").dataset).test_attributes is None
    line = rejection(tmp_path, *FAST, "dataset=ham10000", "dataset.subgroups=[sex,site]")
    assert line.startswith("error: dataset.subgroups=site: not a column of ") and line.endswith(
        "columns: age, sex, localization, lesion_id, image_id, dx_type"
    )


@pytest.mark.parametrize(
    "dataset, kept, dropped", [("ham10000", "metadata", "image"), ("ham10000", "image", "metadata")]
)
def test_select_inputs_keeps_one_modality(dataset, kept, dropped):
    data = load_prepared(compose_config(f"dataset={dataset}", f"dataset.select_inputs=[{kept}]").dataset)
    assert list(data.specs) == [kept]
    assert all(list(part.inputs) == [kept] for part in (data.train, data.val, data.test))
    assert list(data.preprocessors) == ([kept] if kept == "metadata" else [])
    assert list(data.raw_examples.columns) == (["age", "sex", "localization"] if kept == "metadata" else [])


def test_select_inputs_works_on_every_kind_of_dataset(tmp_path):
    assert list(load_prepared(compose_config("dataset=digits", "dataset.select_inputs=[image]").dataset).specs) == [
        "image"
    ]
    line = rejection(tmp_path, *FAST, "dataset=ham10000", "dataset.select_inputs=[metadata,nope]")
    assert line == "error: dataset.select_inputs=nope: inputs of this dataset: metadata, image"
    line = rejection(tmp_path, *FAST, "dataset=ham10000", "dataset.select_inputs=image")
    assert line == "error: dataset.select_inputs=image: must be a list of input names, e.g. [metadata]"


def test_metadata_only_mode_keeps_rows_without_images(tmp_path, npz, metadata):
    images = write_npz(tmp_path / "part.npz", npz, np.arange(200))
    with_images = load_prepared(compose_config("dataset=ham10000", f"dataset.loader.images.path={images}").dataset)
    alone = load_prepared(compose_config("dataset=ham10000_metadata").dataset)
    known = ((metadata["sex"] != "unknown") & (metadata["localization"] != "unknown")).to_numpy()
    assert sum(with_images.sizes().values()) == known[:200].sum()
    assert list(alone.specs) == ["metadata"] and sum(alone.sizes().values()) == known.sum() > known[:200].sum()


def test_dx_type_feature_adds_the_leaky_column():
    cfg = compose_config("dataset=ham10000", "dataset.loader.dx_type_feature=true")
    data = load_prepared(cfg.dataset)
    assert data.specs["metadata"].raw_columns == ("age", "sex", "localization", "dx_type")
    assert "dx_type_histo" in data.specs["metadata"].columns


# --- dataset=multimodal_csv ------------------------------------------------------------------------


@pytest.fixture
def cases_csv(tmp_path, npz, metadata):
    """A user's CSV: the test metadata with a `path` column, PNGs written from the npz under images/."""
    (tmp_path / "cases" / "images").mkdir(parents=True)
    for image_id, image in zip(npz["image_id"], npz["images"]):
        Image.fromarray(image).save(tmp_path / "cases" / "images" / f"{image_id}.png")
    frame = metadata.assign(path=[f"images/{i}.png" for i in metadata["image_id"]])
    frame.to_csv(tmp_path / "cases" / "cases.csv", index=False)
    return tmp_path / "cases" / "cases.csv"


CSV_OPTIONS = dict(target="dx", features=["age", "sex", "localization"], categorical=["sex", "localization"])
CSV_OVERRIDES = (
    "dataset.loader.target=dx",
    "dataset.loader.features=[age,sex,localization]",
    "dataset.loader.categorical=[sex,localization]",
)


def test_multimodal_csv_reads_each_rows_image(cases_csv, npz):
    table = load_multimodal_csv(str(cases_csv), image_size=[28, 28], **CSV_OPTIONS)
    assert np.array_equal(table.images["image"], npz["images"])
    assert table.table_input == "features" and list(table.features.columns) == CSV_OPTIONS["features"]
    small = load_multimodal_csv(str(cases_csv), image_size=[14, 7], **CSV_OPTIONS)
    assert small.images["image"].shape == (300, 14, 7, 3) and small.images["image"].dtype == np.uint8


def test_multimodal_csv_through_the_config_with_groups_and_subgroups(cases_csv):
    cfg = compose_config(
        "dataset=multimodal_csv",
        f"dataset.loader.path={cases_csv}",
        *CSV_OVERRIDES,
        "dataset.split.group_column=lesion_id",
        "dataset.subgroups=[sex,dx_type]",
    )
    data = load_prepared(cfg.dataset)
    assert [(s.name, s.kind) for s in data.specs.values()] == [
        ("features", InputKind.TABLE),
        ("image", InputKind.IMAGE),
    ]
    assert list(data.test_attributes.columns) == ["sex", "dx_type"]


@pytest.mark.parametrize(
    "damage, message",
    [
        (lambda folder: (folder / "images" / "ISIC_0033770.png").unlink(), "data row 2: image file {f} does not exist"),
        (
            lambda folder: (folder / "images" / "ISIC_0033770.png").write_text("not a png"),
            "data row 2: cannot read image {f} (cannot identify image file",
        ),
    ],
)
def test_missing_or_unreadable_image_names_row_and_path(tmp_path, cases_csv, damage, message):
    damage(cases_csv.parent)
    line = rejection(tmp_path, *FAST, "dataset=multimodal_csv", f"dataset.loader.path={cases_csv}", *CSV_OVERRIDES)
    expected = message.format(f=cases_csv.parent / "images" / "ISIC_0033770.png")
    assert line.startswith(f"error: dataset.loader.path={cases_csv}: {expected}"), line


def test_missing_image_column_lists_the_columns(tmp_path, cases_csv):
    line = rejection(
        tmp_path,
        *FAST,
        "dataset=multimodal_csv",
        f"dataset.loader.path={cases_csv}",
        "dataset.loader.target=dx",
        "dataset.loader.image_column=file",
    )
    assert line == (
        f"error: dataset.loader.image_column=file: not a column of {cases_csv}; "
        "columns: lesion_id, image_id, dx, dx_type, age, sex, localization, path"
    )


@pytest.mark.slow
def test_multimodal_csv_metadata_branch_through_the_cli(run_cli, tmp_path, cases_csv):
    result = run_cli(
        "dataset=multimodal_csv",
        f"dataset.loader.path={cases_csv}",
        *CSV_OVERRIDES,
        "dataset.split.group_column=lesion_id",
        "dataset.select_inputs=[features]",
        "model=mlp",
        "explainer=none",
        "trainer.epochs=1",
        "tracking.log_model=false",
    )
    assert result.returncode == 0, describe(result)
    (run,) = [r for r in all_runs(tmp_path) if "mlflow.parentRunId" not in r.data.tags]
    assert run.info.status == "FINISHED" and "test_f1" in run.data.metrics


@pytest.mark.slow
def test_fusion_strategies_run_unchanged_on_a_users_csv_with_image_paths(run_cli, tmp_path, cases_csv):
    """dataset=multimodal_csv (inputs `features` + `image`) with early and late fusion, as on HAM10000."""
    result = run_cli(
        "-m",
        "dataset=multimodal_csv",
        f"dataset.loader.path={cases_csv}",
        *CSV_OVERRIDES,
        "dataset.split.group_column=lesion_id",
        "model=fusion",
        "strategy=early_fusion,late_fusion",
        "explainer=modality",
        "explainer.modality.max_rows=20",
        "trainer.epochs=1",
        "++strategy.stages.fusion.epochs=1",  # ++: the sweep composes a first config without the strategy
        "tracking.log_model=false",
    )
    assert result.returncode == 0, describe(result)
    runs = [r for r in all_runs(tmp_path) if "mlflow.parentRunId" not in r.data.tags]
    assert sorted(r.data.tags["strategy"] for r in runs) == ["early_fusion", "late_fusion"]
    for run in runs:
        assert run.info.status == "FINISHED"
        assert {"modality_features_macro_f1_drop", "modality_image_macro_f1_drop"} <= run.data.metrics.keys()
    stages = sorted(r.data.tags["stage"] for r in all_runs(tmp_path) if "mlflow.parentRunId" in r.data.tags)
    assert stages == ["branch_features", "branch_features", "branch_image", "branch_image", "fusion", "fusion"]


def test_fingerprint_covers_the_images(tmp_path, npz):
    table = load(HAM_DIR / "ham10000_28x28_rgb_subset.npz")
    images = npz["images"].copy()
    images[0, 0, 0, 0] ^= 1
    changed = load(write_npz(tmp_path / "one_pixel.npz", npz, images=images))
    assert table.fingerprint() != changed.fingerprint()
    assert table.fingerprint() == load(write_npz(tmp_path / "same.npz", npz)).fingerprint()


@pytest.mark.parametrize(
    "arrays, message",
    [
        ({"image_id": np.array([f"X_{i}" for i in range(300)], dtype=object)}, "no image_id in common"),
        ({"images": np.zeros((300, 28, 28), np.uint8)}, r"images must have shape \(N, H, W, 3\)"),
        ({"images": np.zeros((300, 28, 28, 3), np.float32)}, "images must be uint8 or integers 0..255; got float32"),
    ],
    ids=["no-common-key", "wrong-shape", "wrong-dtype"],
)
def test_mismatched_keys_or_bad_pixels_stop_the_cli_before_any_run(tmp_path, npz, arrays, message):
    """Through run.py: one line naming dataset.loader.images and the file, exit 2, no MLflow run."""
    path = write_npz(tmp_path / "bad.npz", npz, **arrays)
    line = rejection(tmp_path, *FAST, "dataset=ham10000", f"dataset.loader.images.path={path}")
    assert re.match(rf"^error: dataset\.loader\.images={re.escape(str(path))}: .*{message}", line), line
