"""Evaluation and objective settings (`evaluation`, `objective` in conf/config.yaml)."""

from typing import Literal

from pydantic import model_validator
from pydantic_core import PydanticCustomError

from transferlab.errors import ConfigError
from transferlab.validation import PositiveInt, PositiveNumber, Settings, is_number, rule

OBJECTIVE_PREFIXES = ("val_", "test_", "oracle_test_", "threshold_")
# The exact names logged depend on the task: ObjectiveSettings.check_logged, once the data is loaded.
MetricName = rule(
    lambda v: isinstance(v, str) and v.startswith(OBJECTIVE_PREFIXES),
    "must be a logged val_*/test_* metric, e.g. val_roc_auc, val_f2",
    str,
)


class ThresholdGrid(Settings):
    """Candidate decision thresholds: `num` points from `start` to `stop`, inside [0, 1]."""

    start: float = 0.1
    stop: float = 0.9
    num: PositiveInt = 81

    @model_validator(mode="after")
    def inside_0_1(self):
        if not (is_number(self.start) and is_number(self.stop) and 0 <= self.start < self.stop <= 1):
            raise PydanticCustomError(
                "transferlab_rule", "need 0 <= start < stop <= 1", {"value": f"{self.start}..{self.stop}"}
            )
        return self


BandEdges = rule(
    lambda v: isinstance(v, list) and len(v) >= 2 and all(map(is_number, v)) and all(a < b for a, b in zip(v, v[1:])),
    "must be a list of two or more increasing numbers (band edges)",
    list,
)


class SubgroupSettings(Settings):
    """Per-group test metrics over the dataset's test attributes (PreparedData.test_attributes).
    Which columns exist is known once the data is loaded: evaluation.subgroups.subgroup_columns."""

    columns: list[str] | None = None  # null: every attribute column of the dataset
    bands: dict[str, BandEdges] = {"age": [0, 30, 45, 60, 75, 120]}  # numeric columns: band edges, [lo, hi)
    min_count: PositiveInt = 10  # smaller groups stay in the tables but not in the gap metrics


class EvaluationSettings(Settings):
    betas: list[PositiveNumber] = [1, 2, 5]  # F-beta scores and thresholds reported for binary tasks
    threshold_grid: ThresholdGrid = ThresholdGrid()
    subgroups: SubgroupSettings = SubgroupSettings()


class ObjectiveSettings(Settings):
    """The metric run.py returns to sweepers; whether it is logged for the task: check_objective_logged."""

    metric: MetricName = "val_roc_auc"
    direction: Literal["maximize", "minimize"] = "maximize"


def check_objective_logged(metric: str, logged_metrics: list[str]) -> None:
    """objective.metric must be logged for the task: which metrics are depends on the data's classes."""
    if metric not in logged_metrics:
        raise ConfigError(
            "objective.metric", metric, "not logged for this task; choose one of " + ", ".join(logged_metrics)
        )
