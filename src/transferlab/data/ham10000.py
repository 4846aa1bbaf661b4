"""HAM10000 (Tschandl, Rosendahl & Kittler 2018): lesion metadata (age, sex, localization -> input
`metadata`), joined on image_id with small RGB images (input `image`), or the metadata alone."""

import logging
from pathlib import Path

import numpy as np
import pandas as pd

from transferlab.data.csv_file import read_csv_file
from transferlab.data.csv_table import table_from_frame
from transferlab.data.files import locate_file
from transferlab.data.table import Table
from transferlab.errors import ConfigError, first_line

logger = logging.getLogger(__name__)

KEY = "dataset.loader"
SUBDIR = "ham10000"
COLUMNS = ["lesion_id", "image_id", "dx", "dx_type", "age", "sex", "localization"]
FEATURES = ["age", "sex", "localization"]
CATEGORICAL = ["sex", "localization", "dx_type"]
# Kaggle's hmnist label codes (SOURCES.md: from community notebooks, also stored in the subset .npz).
HMNIST_CODES = {"akiec": 0, "bcc": 1, "bkl": 2, "df": 3, "nv": 4, "vasc": 5, "mel": 6}


def load_ham10000(
    data_dir: str, metadata, images=None, drop_unknown: bool = True, dx_type_feature: bool = False
) -> Table:
    """HAM10000_metadata.csv, joined with `images` when given (null: every metadata row, no image).

    `metadata` and `images` are {filename, path, url}: found at `path`, else
    <data_dir>/ham10000/<filename>, else downloaded from `url`. Label: dx (class names sorted:
    akiec, bcc, bkl, df, mel, nv, vasc). `drop_unknown` drops rows whose sex or localization is
    "unknown" (seed 002); `dx_type_feature` adds dx_type, which leaks the label, as a feature.
    """
    metadata_file = locate(data_dir, metadata, f"{KEY}.metadata")
    frame = read_metadata(metadata_file)
    pixels, source = {}, metadata_file
    if images is not None:
        source = locate(data_dir, images, f"{KEY}.images")
        frame, pixels["image"] = join_on_image_id(frame, *read_images(source, frame), source)
    if drop_unknown:
        known = ((frame["sex"] != "unknown") & (frame["localization"] != "unknown")).to_numpy()
        logger.info("HAM10000: dropped %d rows with unknown sex or localization", int((~known).sum()))
        frame, pixels = frame[known], {name: array[known] for name, array in pixels.items()}
    features = FEATURES + (["dx_type"] if dx_type_feature else [])
    return table_from_frame(
        frame,
        "dx",
        features,
        [c for c in CATEGORICAL if c in features],
        name="ham10000",
        source=str(source),
        origin=(f"{KEY}.metadata", str(metadata_file)),
        images=pixels,
        table_input="metadata",
    )


def locate(data_dir: str, file, key: str) -> Path:
    return locate_file(file.get("path"), data_dir, SUBDIR, file.get("filename"), file.get("url"), key=key)


def read_metadata(file: Path) -> pd.DataFrame:
    """The metadata table (Kaggle layout: lesion_id, image_id, dx, dx_type, age, sex, localization)."""
    frame = read_csv_file(file, key=f"{KEY}.metadata", sep_key=None)
    missing = [c for c in COLUMNS if c not in frame.columns]
    if missing:
        raise ConfigError(f"{KEY}.metadata", file, f"has no column {', '.join(missing)}; needs {', '.join(COLUMNS)}")
    return frame


def read_images(file: Path, metadata: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(image ids, uint8 (N, H, W, 3) pixels) from an .npz (`images` + `image_id`) or Kaggle's hmnist CSV."""
    if file.name.endswith(".npz"):
        return read_npz(file)
    if file.name.endswith((".csv", ".csv.gz")):
        return read_hmnist(file, metadata)
    raise ConfigError(
        f"{KEY}.images", file, "must be an .npz (arrays images + image_id) or Kaggle's hmnist_28_28_RGB.csv"
    )


def read_npz(file: Path) -> tuple[np.ndarray, np.ndarray]:
    """The `image_id` and `images` arrays of an .npz (image_id is an object array: pickle allowed,
    so load only files you trust, as for any pickle)."""
    try:
        with np.load(file, allow_pickle=True) as archive:
            arrays = {name: archive[name] for name in ("images", "image_id") if name in archive.files}
            names = archive.files
    except (OSError, ValueError, EOFError) as err:
        raise ConfigError(f"{KEY}.images", file, f"not a readable .npz ({first_line(err)})") from err
    missing = [name for name in ("images", "image_id") if name not in arrays]
    if missing:
        raise ConfigError(f"{KEY}.images", file, f"has no array {', '.join(missing)}; arrays: {', '.join(names)}")
    ids, images = arrays["image_id"], arrays["images"]
    if ids.shape != images.shape[:1]:
        raise ConfigError(f"{KEY}.images", file, f"image_id has shape {ids.shape}, images {images.shape}")
    return ids.astype(str), checked_pixels(images, file)


def read_hmnist(file: Path, metadata: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Kaggle's hmnist_<s>_<s>_RGB.csv: s*s*3 pixel columns (each image flattened as (s, s, 3)) and
    `label`. It has no image_id: its rows are in HAM10000_metadata.csv's order (seed 002 pairs the
    two files by position), so the row count and each label's hmnist code of dx are checked. The
    metadata is sorted by dx, so this proves the class blocks line up, not the order within a class."""
    frame = pd.read_csv(file, engine="pyarrow")
    if "label" not in frame.columns:
        raise ConfigError(f"{KEY}.images", file, "has no label column; expected Kaggle's hmnist_28_28_RGB.csv layout")
    if len(frame) != len(metadata):
        raise ConfigError(
            f"{KEY}.images", file, f"has {len(frame)} rows, the metadata {len(metadata)}; rows pair up by position"
        )
    expected = metadata["dx"].map(HMNIST_CODES).to_numpy()
    wrong = np.flatnonzero(frame["label"].to_numpy() != expected)
    if len(wrong):
        raise ConfigError(
            f"{KEY}.images",
            file,
            f"{len(wrong)} labels disagree with the metadata's dx (first: data row {wrong[0] + 1}, label "
            f"{frame['label'].iloc[wrong[0]]}, dx {metadata['dx'].iloc[wrong[0]]}); rows must be in metadata order",
        )
    flat = frame.drop(columns="label").to_numpy()
    side = int(round((flat.shape[1] / 3) ** 0.5))
    if side * side * 3 != flat.shape[1]:
        raise ConfigError(f"{KEY}.images", file, f"{flat.shape[1]} pixel columns are not side x side x 3")
    return metadata["image_id"].to_numpy().astype(str), checked_pixels(flat.reshape(-1, side, side, 3), file)


def checked_pixels(images: np.ndarray, file: Path) -> np.ndarray:
    """uint8 (N, H, W, 3): other integer arrays are accepted when every value is in 0..255."""
    if images.ndim != 4 or images.shape[-1] != 3:
        raise ConfigError(f"{KEY}.images", file, f"images must have shape (N, H, W, 3) (RGB); got {images.shape}")
    if images.dtype == np.uint8:
        return images
    if not np.issubdtype(images.dtype, np.integer) or (images.size and not 0 <= images.min() <= images.max() <= 255):
        raise ConfigError(f"{KEY}.images", file, f"images must be uint8 or integers 0..255; got {images.dtype}")
    return images.astype(np.uint8)


def join_on_image_id(
    metadata: pd.DataFrame, ids: np.ndarray, images: np.ndarray, file: Path
) -> tuple[pd.DataFrame, np.ndarray]:
    """The metadata rows that have an image (metadata order) and their images. Rows without an
    image are dropped and counted (the 28x28 subset covers 5,984 of 10,015); so are images
    without a metadata row (logged as a warning: another release of the images?)."""
    index = pd.Index(ids)
    if index.has_duplicates:
        raise ConfigError(f"{KEY}.images", file, f"image_id {index[index.duplicated()][0]} appears more than once")
    position = index.get_indexer(metadata["image_id"].astype(str))
    found = position >= 0
    if not found.any():
        raise ConfigError(
            f"{KEY}.images",
            file,
            f"no image_id in common with the metadata (images: {ids[0]}, ...; metadata: "
            f"{metadata['image_id'].iloc[0]}, ...)",
        )
    if not found.all():
        logger.info("HAM10000: %d of %d metadata rows have no image in %s: dropped", (~found).sum(), len(found), file)
    if found.sum() < len(ids):
        logger.warning("HAM10000: %d images of %s have no metadata row: dropped", len(ids) - found.sum(), file.name)
    return metadata[found], images[position[found]]
