"""Compare runs read back from MLflow: selection, statistics, charts, documents."""
