"""Figures shared by the image explainers: heatmaps over images, and feature-map grids."""

import math

import matplotlib.pyplot as plt
import numpy as np

from transferlab.evaluation.plots import show_image  # also selects matplotlib's Agg backend

COLUMNS = 4
PANEL_INCHES = 2.6


def overlay_grid(
    images, heatmaps, titles, correct, title: str, cmap: str = "jet", alpha: float = 0.5, symmetric: bool = False
):
    """Each image with its heatmap (same height and width; NaN = transparent) blended on top,
    titled green for correct predictions and red for wrong ones. symmetric: colour limits
    +-max|heatmap| per image, for signed attributions."""
    rows = math.ceil(len(images) / COLUMNS)
    columns = min(COLUMNS, len(images))
    figure, axes = plt.subplots(
        rows, columns, figsize=(PANEL_INCHES * columns, PANEL_INCHES * rows + 0.5), squeeze=False, layout="constrained"
    )
    for ax in axes.flat:
        ax.axis("off")
    for ax, image, heatmap, label, ok in zip(axes.flat, images, heatmaps, titles, correct):
        show_image(ax, image)
        limit = np.nanmax(np.abs(heatmap), initial=0.0) if symmetric else None
        ax.imshow(heatmap, cmap=cmap, alpha=alpha, vmin=None if limit is None else -limit, vmax=limit)
        ax.set_title(label, color="green" if ok else "red", fontsize=9)
    figure.suptitle(title)
    return figure


def feature_map_grid(image: np.ndarray, activations: dict[str, np.ndarray], max_channels: int, title: str):
    """The input image, then one row per layer with its first `max_channels` channels (h, w, c maps)."""
    columns = max(1, min(max_channels, max(maps.shape[-1] for maps in activations.values())))
    figure, axes = plt.subplots(
        1 + len(activations),
        columns,
        figsize=(1.9 * columns, 1.9 * (1 + len(activations)) + 0.5),
        squeeze=False,
        layout="constrained",
    )
    for ax in axes.flat:
        ax.axis("off")
    show_image(axes[0, 0], image)
    axes[0, 0].set_title("input", fontsize=8)
    for row, (name, maps) in zip(axes[1:], activations.items()):
        for channel, ax in enumerate(row[: maps.shape[-1]]):
            ax.imshow(maps[..., channel], cmap="viridis")
            ax.set_title(
                f"{name} [{channel}]" if channel else f"{name} {'x'.join(map(str, maps.shape))} [0]", fontsize=7
            )
    figure.suptitle(title)
    return figure
