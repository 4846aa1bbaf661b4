"""Labelled images held as numpy arrays, and their seeded stratified train / validation / test splits."""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd
from sklearn.model_selection import train_test_split

from transferlab.config_checks import check_fraction
from transferlab.data.inputs import Examples, image_input
from transferlab.data.prepared import PreparedData
from transferlab.errors import ConfigError, first_line

KEY = "dataset.split"
INPUT = "image"  # the name of the one model input of an image dataset


@dataclass
class ImageArrays:
    """Images (N, H, W, C) with pixel values 0..255 and labels 0..K-1, plus the official test split
    when the source has one (MNIST); otherwise prepare() splits a test set off `x`.

    prepare() hands out one input, `image`: float32 pixels left unscaled (each model rescales or
    applies its own preprocess_input), and int64 labels; there is no table preprocessing.
    Split parts keep the seeded shuffled order train_test_split gives, so any prefix (explainers take
    the first n test rows) mixes classes; an official test set keeps its file order unless `subset` shrinks it.
    """

    x: np.ndarray  # the training images, or every image without an official test split
    y: np.ndarray
    class_names: list[str]
    fingerprint: str  # sha256 naming the source data
    source: str  # what errors call the data, e.g. "mnist.npz"
    x_test: np.ndarray | None = None
    y_test: np.ndarray | None = None

    def prepare(
        self, val_fraction: float = 0.1, test_fraction: float | None = None, subset: int | None = None, seed: int = 42
    ) -> PreparedData:
        """Test split (official, or a stratified `test_fraction` of everything), then an optional
        stratified `subset` of the training images (the test set shrunk to match), then a stratified
        `val_fraction` of the training images for validation."""
        check_fraction(f"{KEY}.val_fraction", val_fraction)
        if self.x_test is None:
            check_fraction(f"{KEY}.test_fraction", test_fraction, f": {self.source} has no official test split")
            train_idx, test_idx = stratified_split(self.y, test_fraction, seed, "test_fraction")
            x_test, y_test = self.x, self.y
        else:
            if test_fraction is not None:
                raise ConfigError(
                    f"{KEY}.test_fraction", test_fraction, f"must be null: {self.source} has an official test split"
                )
            train_idx, test_idx = np.arange(len(self.y)), np.arange(len(self.y_test))
            x_test, y_test = self.x_test, self.y_test
        if subset is not None:
            train_idx, test_idx = self.subset_indices(subset, train_idx, test_idx, y_test, seed)
        fit_pos, val_pos = stratified_split(self.y[train_idx], val_fraction, seed, "val_fraction")
        fit_idx, val_idx = train_idx[fit_pos], train_idx[val_pos]
        train = pixels(self.x, fit_idx)
        spec = image_input(INPUT, self.x.shape[1:], train)
        return PreparedData(
            Examples({INPUT: train}, self.y[fit_idx]),
            Examples({INPUT: pixels(self.x, val_idx)}, self.y[val_idx]),
            Examples({INPUT: pixels(x_test, test_idx)}, y_test[test_idx]),
            specs={INPUT: spec},
            class_names=list(self.class_names),
            preprocessors={},
            raw_examples=pd.DataFrame(),
            fingerprint=self.fingerprint,
            source=self.source,
        )

    def subset_indices(
        self, subset, train_idx: np.ndarray, test_idx: np.ndarray, y_test: np.ndarray, seed: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """`subset` training images and at most max(subset // 5, 10 per class) test images, both stratified."""
        n_classes = len(self.class_names)
        if (
            isinstance(subset, bool)
            or not isinstance(subset, Integral)
            or not 2 * n_classes <= subset <= len(train_idx)
        ):
            raise ConfigError(
                f"{KEY}.subset",
                subset,
                f"must be null or an integer from {2 * n_classes} (2 per class) "
                f"to {len(train_idx)} (the training images of {self.source})",
            )
        n_test = min(len(test_idx), max(subset // 5, 10 * n_classes))
        try:
            return (
                train_idx[stratified_take(self.y[train_idx], subset, seed)],
                test_idx[stratified_take(y_test[test_idx], n_test, seed)],
            )
        except ValueError as err:  # some class has a single image
            raise ConfigError(f"{KEY}.subset", subset, f"cannot take a stratified subset: {first_line(err)}") from err


def stratified_split(labels: np.ndarray, fraction: float, seed: int, name: str) -> tuple[np.ndarray, np.ndarray]:
    """Positions of the kept part and of the held-out `fraction`, with class proportions preserved."""
    try:
        return train_test_split(np.arange(len(labels)), test_size=fraction, random_state=seed, stratify=labels)
    except ValueError as err:  # too few images of some class, or fewer held-out images than classes
        raise ConfigError(
            f"{KEY}.{name}", fraction, f"cannot split {len(labels)} images stratified: {first_line(err)}"
        ) from err


def stratified_take(labels: np.ndarray, n: int, seed: int) -> np.ndarray:
    """Positions of `n` of the labels, stratified; all of them, in order, when n covers them."""
    if n >= len(labels):
        return np.arange(len(labels))
    return train_test_split(np.arange(len(labels)), train_size=n, random_state=seed, stratify=labels)[0]


def pixels(images: np.ndarray, positions: np.ndarray) -> np.ndarray:
    return images[positions].astype(np.float32, copy=False)
