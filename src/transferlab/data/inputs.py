"""Named model inputs: what one example of each input looks like, and the rows of one split.

Every dataset hands its splits over as a mapping `input name -> array` (a table dataset has one
input, `features`; an image dataset `image`; a multimodal one several). Models declare one
`keras.Input(name=...)` per name, so Keras routes each array to its branch. Row counts and row
selection live here, so no other code calls `len()` on, or slices, what may be a mapping.
"""

from dataclasses import dataclass, field
from enum import Enum

import numpy as np


class InputKind(str, Enum):
    """What one input holds: feature vectors, raw-pixel images (H, W, C), or text (as the model
    sees it: features of the tokens of a vocabulary fitted on the training split)."""

    TABLE = "table"
    IMAGE = "image"
    TEXT = "text"


@dataclass(frozen=True)
class InputSpec:
    """One named input: the shape of one example, its kind, and its column names.

    `columns` name the model-facing values (a table's features after preprocessing; an image or
    text input has one column, its own name); `raw_columns` what a user supplies for it (a table's
    raw CSV columns). An image input also carries its training images' per-channel pixel mean and
    standard deviation, for models that standardise inside the network (model.standardize).
    """

    name: str
    kind: InputKind
    shape: tuple[int, ...]
    columns: tuple[str, ...]
    raw_columns: tuple[str, ...]
    channel_mean: tuple[float, ...] | None = None
    channel_std: tuple[float, ...] | None = None

    def describe(self) -> str:
        """E.g. `features (table, 8)` or `image (image, 28x28x1)`."""
        return f"{self.name} ({self.kind.value}, {'x'.join(map(str, self.shape))})"


def table_input(name: str, columns, raw_columns) -> InputSpec:
    return InputSpec(name, InputKind.TABLE, (len(columns),), tuple(columns), tuple(raw_columns))


def image_input(name: str, shape, training_images: np.ndarray | None = None) -> InputSpec:
    """The spec of an image input; with its training images (N, H, W, C), their per-channel mean and std."""
    stats = (None, None)
    if training_images is not None:
        axes = tuple(range(training_images.ndim - 1))
        mean = training_images.mean(axis=axes, dtype=np.float64)
        std = np.maximum(training_images.std(axis=axes, dtype=np.float64), 1e-6)  # a constant channel: no 0 division
        stats = (tuple(map(float, mean)), tuple(map(float, std)))
    return InputSpec(name, InputKind.IMAGE, tuple(int(d) for d in shape), (name,), (name,), *stats)


@dataclass
class Examples:
    """The rows of one split: each input's array (same row count) and the integer labels. `texts`:
    each text input's raw strings (object arrays), beside the features the model takes for them."""

    inputs: dict[str, np.ndarray]
    labels: np.ndarray
    texts: dict[str, np.ndarray] = field(default_factory=dict)

    def __post_init__(self):
        counts = {name: len(array) for name, array in self.inputs.items()}
        counts |= {f"{name} (text)": len(texts) for name, texts in self.texts.items()}
        if any(count != len(self.labels) for count in counts.values()):
            raise ValueError(f"inputs {counts} and {len(self.labels)} labels differ in row count")

    @property
    def n_rows(self) -> int:
        return len(self.labels)

    def take(self, rows) -> "Examples":
        """The rows selected by a slice or an index array, in that order."""
        return Examples(take_rows(self.inputs, rows), self.labels[rows], take_rows(self.texts, rows))

    def head(self, n: int | None) -> "Examples":
        """The first n rows (all when n is None)."""
        return self.take(slice(None, n))

    @property
    def nbytes(self) -> int:
        return sum(array.nbytes for array in self.inputs.values()) + self.labels.nbytes


def count_rows(inputs: dict[str, np.ndarray]) -> int:
    """The row count shared by every array of `inputs`."""
    counts = {len(array) for array in inputs.values()}
    if len(counts) != 1:
        raise ValueError(f"inputs differ in row count: {sorted(counts)}")
    return counts.pop()


def take_rows(inputs: dict[str, np.ndarray], rows) -> dict[str, np.ndarray]:
    """Each input's rows selected by a slice or an index array."""
    return {name: array[rows] for name, array in inputs.items()}
