"""What every explainer receives and returns.

An explainer is a class built by Hydra from conf/explainer/<name>.yaml with
`explain(context) -> Explanation`, and optionally `check(data, model)`, which raises ConfigError
before any MLflow run exists (called on a freshly built model of the same architecture).
"""
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities
from transferlab.evaluation.thresholds import best_threshold


@dataclass
class ExplainContext:
    model: object               # the Keras network: preprocessed features, or raw 0..255 images (N, H, W, C)
    data: PreparedData
    thresholds: np.ndarray      # candidate decision thresholds
    seed: int

    def validation_threshold(self, beta: float) -> float:
        """The F-beta-optimal threshold on validation data (never on test)."""
        p_val = class_probabilities(self.model, self.data.x_val)[:, 1]
        return best_threshold(self.data.y_val, p_val, beta, self.thresholds)[0]


@dataclass
class Explanation:
    table: pd.DataFrame
    figures: dict[str, object] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
