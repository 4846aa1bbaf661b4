"""Datasets: loaders (one module per source), splits, and train-only preprocessing."""
