"""What every dataset hands to strategies, evaluation and explainers: float32 model inputs."""
from dataclasses import dataclass

import numpy as np
import pandas as pd


@dataclass
class PreparedData:
    """Model-ready splits plus what produced them.

    `preprocessor` is the fitted scikit-learn transformer from raw rows (`raw_columns`) to model
    inputs (`feature_names`); the logged raw-row model reuses it. `x_extra` is an optional
    adaptation pool (seed 001's rows between train and test) that transfer stages train on.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray
    y_val: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray
    class_names: list[str]
    feature_names: list[str]
    raw_columns: list[str]
    preprocessor: object
    raw_examples: pd.DataFrame   # a few raw test rows: the logged model's input example
    fingerprint: str             # sha256 naming the source data, logged as a run tag
    x_extra: np.ndarray | None = None
    y_extra: np.ndarray | None = None

    @property
    def n_classes(self) -> int:
        return len(self.class_names)

    @property
    def input_shape(self) -> tuple[int, ...]:
        """One example's shape: (features,) for tables, (height, width, channels) for images."""
        return tuple(self.x_train.shape[1:])

    @property
    def holds_images(self) -> bool:
        """Images are (height, width, channels) per example; table rows (features,)."""
        return len(self.input_shape) == 3

    def adaptation_pool(self) -> tuple[np.ndarray, np.ndarray]:
        """Rows transfer stages (frozen head, fine-tune, LoRA) train on: the extra pool when the
        dataset has one, the training split otherwise."""
        if self.x_extra is not None and len(self.x_extra):
            return self.x_extra, self.y_extra
        return self.x_train, self.y_train

    def sizes(self) -> dict[str, int]:
        sizes = {"n_train": len(self.x_train), "n_val": len(self.x_val), "n_test": len(self.x_test)}
        return sizes | ({"n_extra": len(self.x_extra)} if self.x_extra is not None else {})

    def nbytes(self) -> int:
        """Bytes of every split's model inputs and labels."""
        arrays = (self.x_train, self.y_train, self.x_val, self.y_val, self.x_test, self.y_test, self.x_extra, self.y_extra)
        return sum(a.nbytes for a in arrays if a is not None)
