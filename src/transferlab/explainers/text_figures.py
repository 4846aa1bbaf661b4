"""Figures of the text explainers: each explained message's strongest token weights."""

import math
import textwrap

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import transferlab.evaluation.plots  # noqa: F401  (selects matplotlib's Agg backend)

COLUMNS = 2
SHOWN_CHARACTERS = 70  # of each message, in its panel's title


def token_weight_grid(weights: list[pd.Series], titles: list[str], correct, messages: list[str], title: str):
    """One bar chart per message of its tokens' weights (index = token), first on top, green for and
    red against the predicted class; titled with the message's start, green when the prediction is
    correct and red when it is wrong."""
    rows, columns = math.ceil(len(weights) / COLUMNS), min(COLUMNS, len(weights))
    panel_height = 0.28 * max(len(series) for series in weights) + 1.2
    figure, axes = plt.subplots(
        rows, columns, figsize=(6 * columns, panel_height * rows + 0.6), squeeze=False, layout="constrained"
    )
    for ax in axes.flat[len(weights) :]:
        ax.axis("off")
    for ax, series, label, ok, message in zip(axes.flat, weights, titles, correct, messages):
        positions = np.arange(len(series))[::-1]
        ax.barh(positions, series.to_numpy(), color=np.where(series.to_numpy() > 0, "tab:green", "tab:red"))
        ax.set_yticks(positions, series.index)
        ax.axvline(0, color="0.3", linewidth=0.8)
        start = textwrap.shorten(message, SHOWN_CHARACTERS, placeholder=" ...").replace("$", r"\$")  # no mathtext
        ax.set_title(f"{label}: {start}", color="green" if ok else "red", fontsize=8, loc="left")
    figure.suptitle(title)
    return figure
