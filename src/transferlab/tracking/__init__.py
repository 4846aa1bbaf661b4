"""MLflow: store set-up, run lifecycle, params and tags, model logging."""
