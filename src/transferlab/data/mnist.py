"""MNIST (LeCun, Cortes & Burges): Keras' mnist.npz layout, 60k training and 10k official test digits."""

import hashlib
import zipfile
import zlib
from pathlib import Path

import numpy as np

from transferlab.data.files import locate_file
from transferlab.data.image_arrays import ImageArrays
from transferlab.errors import ConfigError, first_line

KEY = "dataset.loader"
URL = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/mnist.npz"
ARRAYS = ("x_train", "y_train", "x_test", "y_test")
CLASS_NAMES = [str(digit) for digit in range(10)]


def load_mnist(
    path: str | None = None, data_dir: str = "data", url: str = URL, filename: str = "mnist.npz"
) -> ImageArrays:
    """mnist.npz from `path`, <data_dir>/mnist/<filename> or a download from `url`, read with np.load
    (keras.datasets.mnist.load_data would reject a local copy whose bytes differ from its download)."""
    file = locate_file(path, data_dir, "mnist", filename, url, key=KEY)
    arrays = read_npz(file)
    for split in ("train", "test"):
        check_split(file, arrays[f"x_{split}"], arrays[f"y_{split}"], split)
    if arrays["x_train"].shape[1:] != arrays["x_test"].shape[1:]:
        raise ConfigError(
            f"{KEY}.path",
            file,
            f"x_train images are {arrays['x_train'].shape[1:]}, x_test images {arrays['x_test'].shape[1:]}",
        )
    with open(file, "rb") as handle:
        fingerprint = hashlib.file_digest(handle, "sha256").hexdigest()
    return ImageArrays(
        arrays["x_train"][..., np.newaxis],
        arrays["y_train"].astype(np.int64),
        CLASS_NAMES,
        fingerprint,
        source=file.name,
        x_test=arrays["x_test"][..., np.newaxis],
        y_test=arrays["y_test"].astype(np.int64),
    )


def read_npz(file: Path) -> dict[str, np.ndarray]:
    """The four MNIST arrays of an .npz archive."""
    if not zipfile.is_zipfile(file):
        raise ConfigError(f"{KEY}.path", file, "not an .npz archive (a zip of .npy arrays)")
    try:
        with np.load(file) as archive:
            arrays = {name: archive[name] for name in ARRAYS if name in archive.files}
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, zlib.error) as err:  # a damaged member
        raise ConfigError(
            f"{KEY}.path", file, f"unreadable .npz archive ({type(err).__name__}: {first_line(err)})"
        ) from err
    missing = [name for name in ARRAYS if name not in arrays]
    if missing:
        raise ConfigError(f"{KEY}.path", file, f"has no {', '.join(missing)}; an MNIST .npz holds {', '.join(ARRAYS)}")
    return arrays


def check_split(file: Path, images: np.ndarray, labels: np.ndarray, split: str) -> None:
    """uint8 (N, H, W) images and N integer labels 0..9."""
    if images.dtype != np.uint8 or images.ndim != 3:
        raise ConfigError(
            f"{KEY}.path", file, f"x_{split} must be uint8 images (N, H, W); got {images.dtype} {images.shape}"
        )
    if not np.issubdtype(labels.dtype, np.integer) or labels.shape != images.shape[:1]:
        raise ConfigError(
            f"{KEY}.path", file, f"y_{split} must be {len(images)} integer labels; got {labels.dtype} {labels.shape}"
        )
    if labels.size and not 0 <= labels.min() <= labels.max() <= 9:
        raise ConfigError(f"{KEY}.path", file, f"y_{split} holds labels outside 0..9 ({labels.min()}..{labels.max()})")
