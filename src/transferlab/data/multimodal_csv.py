"""A user's CSV with table columns and one image file per row: dataset=csv's table plus an `image` input."""

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from transferlab.data.csv_file import read_csv_file
from transferlab.data.csv_table import KEY, table_from_frame
from transferlab.data.image_folder import checked_image_size
from transferlab.data.table import Table
from transferlab.errors import ConfigError, first_line

INPUT = "image"
RESAMPLING = {member.name.lower(): member for member in Image.Resampling}


def load_multimodal_csv(
    path: str,
    target: str,
    image_column: str = "path",
    image_size=(28, 28),
    interpolation: str = "bilinear",
    features=None,
    categorical=(),
    zeros_as_missing=(),
    sep: str = ",",
) -> Table:
    """The CSV's table (dataset=csv's checks; `features` null = every column but the target and
    `image_column`) and its images: paths relative to the CSV's folder, read as RGB and resized to
    `image_size` (height, width) with PIL's `interpolation`."""
    frame = read_csv_file(path, sep)
    if image_column not in frame.columns:
        raise ConfigError(
            f"{KEY}.image_column",
            image_column,
            f"not a column of {path}; columns: {', '.join(map(str, frame.columns))}",
        )
    size = checked_image_size(image_size)
    if interpolation not in RESAMPLING:
        raise ConfigError(f"{KEY}.interpolation", interpolation, f"must be one of {', '.join(RESAMPLING)}")
    features = list(features) if features else [c for c in frame.columns if c not in (target, image_column)]
    table = table_from_frame(
        frame, target, features, categorical, zeros_as_missing, "multimodal_csv", str(path), table_input="features"
    )
    folder = Path(path).expanduser().parent
    images = read_images(path, folder, frame[image_column].tolist(), size, RESAMPLING[interpolation])
    return replace(table, images={INPUT: images})


def read_images(csv: str, folder: Path, files: list, size: tuple[int, int], resample) -> np.ndarray:
    """uint8 (N, H, W, 3): every row's image, decoded in a thread pool (PIL releases the GIL)."""

    def read(row: int) -> np.ndarray:
        name = files[row]
        file = folder / str(name)
        if not isinstance(name, str) or not file.is_file():
            raise ConfigError(f"{KEY}.path", csv, f"data row {row + 1}: image file {file} does not exist")
        try:
            with Image.open(file) as image:
                return np.asarray(image.convert("RGB").resize((size[1], size[0]), resample))
        except (OSError, UnidentifiedImageError, ValueError, SyntaxError) as err:
            raise ConfigError(
                f"{KEY}.path", csv, f"data row {row + 1}: cannot read image {file} ({first_line(err)})"
            ) from err

    with ThreadPoolExecutor(max_workers=min(8, os.cpu_count() or 1)) as pool:
        return np.stack(list(pool.map(read, range(len(files)))))
