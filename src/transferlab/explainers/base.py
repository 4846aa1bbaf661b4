"""The interface every explainer implements, what it receives and what it returns.

An explainer is built by Hydra from conf/explainer/<name>.yaml. `check(data, model)` raises
ConfigError before any MLflow run exists (called on a freshly built model of the run's
architecture); `explain(context)` runs after training.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import keras
import numpy as np
import pandas as pd

from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities
from transferlab.evaluation.thresholds import best_threshold


@dataclass
class ExplainContext:
    model: keras.Model  # the trained network, called with the dataset's named inputs
    data: PreparedData
    thresholds: np.ndarray  # candidate decision thresholds
    seed: int

    def validation_threshold(self, beta: float) -> float:
        """The F-beta-optimal threshold on validation data (never on test)."""
        p_val = class_probabilities(self.model, self.data.val.inputs)[:, 1]
        return best_threshold(self.data.val.labels, p_val, beta, self.thresholds)[0]


@dataclass
class Explanation:
    """What an explainer logs under explanations/<name>/: its main CSV table, PNG figures, further
    CSV tables and text files (HTML pages) by file name, run metrics and tags. `importance`: the
    global importance per feature or token (larger = more important) that explanations of the same
    run are compared by (agreement, deletion curves); None where the explainer gives no such ranking.
    `explained_input`: the input `importance` ranks the columns or tokens of. The comparison of a
    run's explanations (explanations/comparison/) has no main table (`table` empty, not logged)."""

    table: pd.DataFrame = field(default_factory=pd.DataFrame)
    figures: dict[str, object] = field(default_factory=dict)
    metrics: dict[str, float] = field(default_factory=dict)
    tags: dict[str, str] = field(default_factory=dict)  # run tags, e.g. explainer.auto=gradcam: what auto picked
    tables: dict[str, pd.DataFrame] = field(default_factory=dict)
    texts: dict[str, str] = field(default_factory=dict)
    importance: pd.Series | None = None
    explained_input: str | None = None


class Explainer(ABC):
    """Explains a trained model's test predictions."""

    @abstractmethod
    def check(self, data: PreparedData, model: keras.Model) -> None:
        """ConfigError when the explainer cannot explain this data or model (its input kinds, a
        missing convolutional layer, a setting out of range)."""

    @abstractmethod
    def explain(self, context: ExplainContext) -> Explanation:
        """The explanation's table (logged as CSV), figures (PNG) and metrics."""
