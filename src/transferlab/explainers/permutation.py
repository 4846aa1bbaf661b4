"""Permutation importance (scikit-learn) with a configurable probability-based scorer."""

import re

import pandas as pd
from sklearn.inspection import permutation_importance

from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import class_probabilities, probability_scorer
from transferlab.evaluation.plots import importance_bars
from transferlab.evaluation.thresholds import fbeta_at
from transferlab.data.inputs import InputKind
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import explained_input
from transferlab.explainers.settings import SCORINGS, PermutationSettings


class PermutationImportance(Explainer):
    """Drop in the score when one feature is shuffled, `n_repeats` times, on test rows (a random
    `max_samples` of them per repeat when set: scikit-learn's own subsampling).

    scoring=f<beta> thresholds the positive-class probability at the F-beta-optimal threshold
    chosen on validation (seed 000 used F2, 10 repeats, but picked the threshold on test).
    """

    settings = PermutationSettings  # validated before anything is loaded (config_checks)

    def __init__(self, scoring: str = "f2", n_repeats: int = 10, max_samples=None):
        self.scoring, self.n_repeats, self.max_samples = scoring, n_repeats, max_samples

    def check(self, data, model) -> None:
        explained_input(data, "permutation", (InputKind.TABLE,))
        if data.n_classes > 2 and self.scoring.startswith("f"):
            raise ConfigError(
                "explainer.permutation.scoring",
                self.scoring,
                f"F-beta needs a binary target, this one has {data.n_classes} classes; use " + ", ".join(SCORINGS),
            )

    def samples_per_repeat(self, n_rows: int):
        """scikit-learn's max_samples: a fraction, or a row count capped at the test size."""
        if self.max_samples is None:
            return 1.0
        return min(self.max_samples, n_rows) if isinstance(self.max_samples, int) else self.max_samples

    def scorer(self, context: ExplainContext, name: str):
        """scikit-learn's scorer(estimator, X, y) for the rows X of input `name`."""
        fbeta = re.fullmatch(r"f(\d+(?:\.\d+)?)", self.scoring)
        if fbeta:
            beta = float(fbeta.group(1))
            threshold = context.validation_threshold(beta)
            return lambda model, x, y: fbeta_at(y, class_probabilities(model, {name: x})[:, 1], beta, threshold)[0]
        metric = probability_scorer(self.scoring)
        return lambda model, x, y: metric(y, class_probabilities(model, {name: x}))

    def explain(self, context: ExplainContext) -> Explanation:
        spec, test = explained_input(context.data, "permutation", (InputKind.TABLE,)), context.data.test
        result = permutation_importance(
            context.model,
            test.inputs[spec.name],
            test.labels,
            scoring=self.scorer(context, spec.name),
            n_repeats=self.n_repeats,
            random_state=context.seed,
            max_samples=self.samples_per_repeat(test.n_rows),
        )
        table = pd.DataFrame(
            {
                "feature": spec.columns,
                "importance_mean": result.importances_mean,
                "importance_std": result.importances_std,
            }
        )
        table = table.sort_values("importance_mean", ascending=False, ignore_index=True)
        figure = importance_bars(
            table.feature,
            table.importance_mean,
            f"Permutation importance (scoring = {self.scoring})",
            f"mean drop in {self.scoring}",
            errors=table.importance_std,
        )
        return Explanation(table, {"importance.png": figure})
