"""scikit-learn's bundled 8x8 handwritten digits (1797 images, classes 0..9): no download."""

import hashlib

import numpy as np
from sklearn.datasets import load_digits

from transferlab.data.image_arrays import ImageArrays


def load_digits_images() -> ImageArrays:
    """8x8 grayscale digits with ink 0..16 rescaled to 0..255; no official test split (prepare's
    test_fraction takes a stratified one)."""
    bunch = load_digits()
    images = (bunch.images * (255 / 16)).astype(np.float32)[..., np.newaxis]
    labels = bunch.target.astype(np.int64)
    fingerprint = hashlib.sha256(images.tobytes() + labels.tobytes()).hexdigest()
    return ImageArrays(images, labels, [str(digit) for digit in range(10)], fingerprint, source="scikit-learn digits")
