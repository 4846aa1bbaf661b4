"""transferlab: config-driven transfer-learning experiments tracked in MLflow."""

from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[2]
