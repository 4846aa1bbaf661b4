"""How far explanations of the same run agree: Spearman rank correlation of their global importances
(of table features or text tokens alike), over the features or tokens both rank."""

from itertools import combinations

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

MIN_COMMON = 3  # below this a rank correlation says nothing (two features: always +1 or -1)
TOP = 5


def pair_agreement(first: pd.Series, second: pd.Series) -> dict:
    """n_features both rank, Spearman's rho over them (NaN with a note where it is undefined) and
    how many of the first's top 5 among them are also in the second's top 5."""
    common = first.dropna().index.intersection(second.dropna().index)
    x, y = first[common], second[common]
    overlap = len(set(x.nlargest(TOP).index) & set(y.nlargest(TOP).index))
    note, rho = "", np.nan
    if len(common) < MIN_COMMON:
        note = f"skipped: fewer than {MIN_COMMON} common features"
    elif x.nunique() < 2 or y.nunique() < 2:
        note = "skipped: one importance is constant over the common features"
    else:
        rho = float(spearmanr(x, y).statistic)
    return {"n_features": len(common), "spearman": rho, f"top{TOP}_overlap": overlap, "note": note}


def agreement_table(importances: dict[str, pd.Series]) -> pd.DataFrame:
    """One row per pair of explanations (explainer option names in sorted order): pair_agreement."""
    rows = [
        {"explainer_a": a, "explainer_b": b} | pair_agreement(importances[a], importances[b])
        for a, b in combinations(sorted(importances), 2)
    ]
    return pd.DataFrame(rows)


def agreement_metrics(table: pd.DataFrame) -> dict[str, float]:
    """explainer_agreement_<a>_<b> = Spearman's rho, for the pairs that have one."""
    ranked = table.dropna(subset=["spearman"])
    return {
        f"explainer_agreement_{a}_{b}": float(rho)
        for a, b, rho in zip(ranked.explainer_a, ranked.explainer_b, ranked.spearman)
    }
