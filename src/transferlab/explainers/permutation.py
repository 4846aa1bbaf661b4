"""Permutation importance (scikit-learn) with a configurable probability-based scorer."""

import re

import pandas as pd
from sklearn.inspection import permutation_importance

from transferlab.errors import ConfigError
from transferlab.evaluation.metrics import class_probabilities, probability_scorer
from transferlab.evaluation.plots import importance_bars
from transferlab.evaluation.thresholds import fbeta_at
from transferlab.data.inputs import InputKind, take_rows
from transferlab.explainers.base import ExplainContext, Explainer, Explanation
from transferlab.explainers.checks import explained_input
from transferlab.explainers.settings import SCORINGS, PermutationSettings

AUTO_SCORING = {"binary": "f2", "multiclass": "macro_f1"}  # scoring=auto: valid for the task, F2 as seed 000


class PermutationImportance(Explainer):
    """Drop in the score when one feature is shuffled, `n_repeats` times, on test rows (a random
    `max_samples` of them per repeat when set: scikit-learn's own subsampling).

    In a model of several inputs, the columns of one table input (`input`; default: the one table
    input) are shuffled while the other inputs keep each row's values.

    scoring=f<beta> thresholds the positive-class probability at the F-beta-optimal threshold
    chosen on validation (seed 000 used F2, 10 repeats, but picked the threshold on test);
    scoring=auto is f2 for a binary target and macro_f1 for several classes.
    """

    settings = PermutationSettings  # validated before anything is loaded (config_checks)

    def __init__(self, scoring: str = "auto", n_repeats: int = 10, max_samples=None, input: str | None = None):
        self.scoring, self.n_repeats, self.max_samples, self.input = scoring, n_repeats, max_samples, input

    def explained(self, data):
        """The table input whose columns are shuffled (explainer.permutation.input in a model of several)."""
        return explained_input(data, "permutation", (InputKind.TABLE,), self.input)

    def scoring_for(self, n_classes: int) -> str:
        """The scorer's name: `scoring`, or for auto the task's default (AUTO_SCORING)."""
        if self.scoring != "auto":
            return self.scoring
        return AUTO_SCORING["binary" if n_classes == 2 else "multiclass"]

    def check(self, data, model) -> None:
        self.explained(data)
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
        """scikit-learn's scorer(estimator, X, y) for X = rows of input `name` as a DataFrame whose
        index holds their test positions (kept through scikit-learn's row sampling and column
        shuffles), so the model's other inputs get the same rows."""
        test = context.data.test.inputs
        others = {key: array for key, array in test.items() if key != name}

        def probabilities(model, x: pd.DataFrame):
            rows = take_rows(others, x.index.to_numpy())
            return class_probabilities(model, rows | {name: x.to_numpy(dtype="float32")})

        scoring = self.scoring_for(context.data.n_classes)
        fbeta = re.fullmatch(r"f(\d+(?:\.\d+)?)", scoring)
        if fbeta:
            beta = float(fbeta.group(1))
            threshold = context.validation_threshold(beta)
            return lambda model, x, y: fbeta_at(y, probabilities(model, x)[:, 1], beta, threshold)[0]
        metric = probability_scorer(scoring)
        return lambda model, x, y: metric(y, probabilities(model, x))

    def explain(self, context: ExplainContext) -> Explanation:
        spec, test = self.explained(context.data), context.data.test
        result = permutation_importance(
            context.model,
            pd.DataFrame(test.inputs[spec.name], columns=list(spec.columns)),
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
        scoring = self.scoring_for(context.data.n_classes)
        figure = importance_bars(
            table.feature,
            table.importance_mean,
            f"Permutation importance (scoring = {scoring})",
            f"mean drop in {scoring}",
            errors=table.importance_std,
        )
        importance = table.set_index("feature").importance_mean
        return Explanation(table, {"importance.png": figure}, importance=importance, explained_input=spec.name)
