"""A user's folder of images, one subfolder per class, read with Keras' directory reader."""

import hashlib
from pathlib import Path

import numpy as np

from transferlab.data.image_arrays import ImageArrays
from transferlab.errors import ConfigError, first_line

KEY = "dataset.loader"
IMAGE_SUFFIXES = (".bmp", ".gif", ".jpeg", ".jpg", ".png")  # what image_dataset_from_directory reads
COLOR_MODES = ("rgb", "grayscale")
READ_BATCH = 256


def load_image_folder(path: str | None, image_size=(224, 224), color_mode: str = "rgb") -> ImageArrays:
    """Every image under <path>/<class>/ (subfolders included), resized to `image_size` (height,
    width); classes are the subfolder names in sorted order. No official test split: prepare's
    test_fraction takes a stratified one."""
    if not path:
        raise ConfigError(f"{KEY}.path", path, "set it to a folder with one subfolder of images per class")
    folder = Path(path).expanduser()
    size = checked_image_size(image_size)
    if color_mode not in COLOR_MODES:
        raise ConfigError(f"{KEY}.color_mode", color_mode, f"must be one of {', '.join(COLOR_MODES)}")
    check_class_folders(folder, path)
    images, labels, files, class_names = read_images(folder, size, color_mode)
    empty = [name for name, count in zip(class_names, np.bincount(labels, minlength=len(class_names))) if count == 0]
    if empty:
        raise ConfigError(
            f"{KEY}.path", path, f"class folder(s) {', '.join(empty)} hold no images ({' '.join(IMAGE_SUFFIXES)})"
        )
    return ImageArrays(images, labels, class_names, files_sha256(folder, files), source=str(folder))


def checked_image_size(image_size) -> tuple[int, int]:
    try:
        size = tuple(image_size)
    except TypeError:
        size = ()
    if len(size) != 2 or not all(isinstance(side, int) and not isinstance(side, bool) and side > 0 for side in size):
        raise ConfigError(f"{KEY}.image_size", image_size, "must be [height, width]: two positive integers")
    return size


def check_class_folders(folder: Path, path: str) -> None:
    """At least two class subfolders (hidden ones ignored, as Keras does) and at least one image."""
    if not folder.is_dir():
        raise ConfigError(f"{KEY}.path", path, "folder does not exist")
    classes = sorted(entry.name for entry in folder.iterdir() if entry.is_dir() and not entry.name.startswith("."))
    if len(classes) < 2:
        found = f"{len(classes)} class{'' if len(classes) == 1 else 'es'}" + (
            f": {', '.join(classes)}" if classes else ""
        )
        raise ConfigError(f"{KEY}.path", path, f"found {found}; need at least 2 class subfolders")
    if not any(file.suffix.lower() in IMAGE_SUFFIXES for name in classes for file in (folder / name).rglob("*")):
        raise ConfigError(f"{KEY}.path", path, f"no images ({' '.join(IMAGE_SUFFIXES)}) in its class subfolders")


def read_images(
    folder: Path, size: tuple[int, int], color_mode: str
) -> tuple[np.ndarray, np.ndarray, list[str], list[str]]:
    """float32 images (N, H, W, C), int64 labels, the files read and the class names."""
    import keras  # not at the top: multimodal_csv imports this module, and tables load without Keras

    dataset = keras.utils.image_dataset_from_directory(
        folder,
        labels="inferred",
        label_mode="int",
        color_mode=color_mode,
        image_size=size,
        batch_size=READ_BATCH,
        shuffle=False,
        data_format="channels_last",
        verbose=False,
    )
    images, labels = [], []
    batches = dataset.as_numpy_iterator()
    while True:
        try:
            batch_images, batch_labels = next(batches)
        except StopIteration:
            break
        except Exception as err:  # tf.data's InvalidArgumentError, which does not name the file
            start = len(images) * READ_BATCH
            raise undecodable(folder, dataset.file_paths[start : start + READ_BATCH], err) from err
        images.append(batch_images)
        labels.append(batch_labels)
    return np.concatenate(images), np.concatenate(labels).astype(np.int64), dataset.file_paths, dataset.class_names


def undecodable(folder: Path, batch_files: list[str], err: Exception) -> ConfigError:
    """The error naming the file of a failed batch that PIL cannot decode either (or the batch's range)."""
    import keras

    for file in batch_files:
        try:
            keras.utils.load_img(file)
        except Exception:  # PIL raises OSError, SyntaxError or ValueError depending on the damage
            return ConfigError(f"{KEY}.path", folder, f"cannot decode image {file}")
    return ConfigError(
        f"{KEY}.path",
        folder,
        f"cannot decode one of the images {batch_files[0]} .. {batch_files[-1]}: {first_line(err)}",
    )


def files_sha256(folder: Path, files: list[str]) -> str:
    """sha256 over each file's path relative to `folder` and its bytes, in sorted path order."""
    digest = hashlib.sha256()
    for relative in sorted(Path(file).relative_to(folder).as_posix() for file in files):
        content = (folder / relative).read_bytes()
        digest.update(f"{relative}\0{len(content)}\0".encode())
        digest.update(content)
    return digest.hexdigest()
