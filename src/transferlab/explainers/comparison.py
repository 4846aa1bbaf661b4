"""A run's explanations checked against each other, so a user sees which one to trust: how far their
rankings agree, and how faithful each table ranking is to the model (deletion curves)."""

import sys

from transferlab.evaluation.plots import deletion_curves
from transferlab.explainers.agreement import agreement_metrics, agreement_table
from transferlab.explainers.base import ExplainContext, Explanation
from transferlab.explainers.deletion import deletion_table, faithfulness_metrics, roc_auc_defined, table_explanations


def compare_explanations(explanations: dict[str, Explanation], context: ExplainContext) -> Explanation | None:
    """agreement.csv and explainer_agreement_* metrics for two or more explanations that carry an
    importance; deletion.csv, deletion.png and explainer_faithfulness_* for those over a table input.
    None when neither applies."""
    ranked = {
        name: explanation.importance for name, explanation in explanations.items() if explanation.importance is not None
    }
    comparison = Explanation()
    if len(ranked) >= 2:
        agreement = agreement_table(ranked)
        comparison.tables["agreement.csv"] = agreement
        comparison.metrics |= agreement_metrics(agreement)
    tabular = table_explanations(explanations, context.data)
    if tabular and not roc_auc_defined(context.data):
        print("note: explanations: no deletion curves, the test split lacks a class (no ROC-AUC)", file=sys.stderr)
    elif tabular:
        deletion = deletion_table(tabular, context)
        comparison.tables["deletion.csv"] = deletion
        comparison.figures["deletion.png"] = deletion_curves(deletion)
        comparison.metrics |= faithfulness_metrics(deletion)
    return comparison if comparison.tables else None
