"""Test metrics, F-beta threshold search, plots and the evaluation report of a run."""
