"""Log the trained network (Keras 3 flavor) and a pyfunc that predicts from raw rows or images."""

import tempfile
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib
import keras
import mlflow
import numpy as np
from mlflow.models import infer_signature

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities, predict_array
from transferlab.tracking import raw_row_model

EXAMPLE_ROWS = 5
RUNTIME_PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "scikit-learn", "pandas", "numpy", "joblib")


def pinned_requirements() -> list[str]:
    """Installed versions of what the logged models need. Passing these skips MLflow's
    requirement inference, which re-loads every model in a subprocess
    (measurements: benchmarks/README.md, 'Why the code is shaped this way')."""
    found = []
    for name in RUNTIME_PACKAGES:
        try:
            found.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return found


def raw_input_signature(raw_example, output):
    """infer_signature of raw rows, keeping integer columns as integers (what the CSV holds).
    MLflow's hint about integer columns and missing values is left out: it suggests doubles, which
    its own schema enforcement then refuses for the integer rows a user sends (int64 -> float64)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        return infer_signature(raw_example, output)


def pixel_lists(images: np.ndarray) -> list:
    """One nested list per image (what MLflow's signature and JSON input example take), integers
    when the pixels are whole numbers (0..255, as loaders hand them out)."""
    whole = np.array_equal(images, np.round(images))
    return (images.astype(np.int64) if whole else images).tolist()


def raw_model_example(data: PreparedData, example: dict, tables: dict) -> tuple:
    """The pyfunc's input example and its index: raw table rows, with one column per image input
    beside them for mixed data; for image-only data the mapping of pixel arrays itself."""
    if not tables:
        return example, None
    raw = data.raw_examples.copy()
    for name in example.keys() - tables.keys():
        raw[name] = pixel_lists(example[name])
    return raw, raw.index


def log_models(classifier: keras.Model, encoder: keras.Model | None, data: PreparedData) -> None:
    """Artifacts `keras_model` (the network on model inputs), `encoder` when there is one (for
    transfer from this run), and `model`: a pyfunc taking raw table rows (a DataFrame; image inputs
    as columns of pixel arrays) when the data has a table, else a mapping of raw arrays (images)."""
    example = data.test.head(EXAMPLE_ROWS).inputs
    # The Keras flavor gets a signature but no input_example: mlflow.keras.log_model writes the
    # example before creating its folder and crashes (mlflow/mlflow#16183, open in MLflow 3.17).
    requirements = pinned_requirements()
    for name, network in (("keras_model", classifier), ("encoder", encoder)):
        if network is not None:
            signature = infer_signature(example, predict_array(network, example))
            mlflow.keras.log_model(network, name=name, signature=signature, pip_requirements=requirements)
    tables = {spec.name: list(spec.raw_columns) for spec in data.specs.values() if spec.kind == InputKind.TABLE}
    raw_example, index = raw_model_example(data, example, tables)
    output = raw_row_model.prediction_table(class_probabilities(classifier, example), data.class_names, index)
    with tempfile.TemporaryDirectory() as tmp:
        network, preprocessors = Path(tmp, "network.keras"), Path(tmp, "preprocessors.joblib")
        classifier.save(network)
        artifacts = {"network": str(network)}
        if tables:
            joblib.dump(data.preprocessors, preprocessors)
            artifacts["preprocessors"] = str(preprocessors)
        mlflow.pyfunc.log_model(
            name="model",
            python_model=raw_row_model.__file__,
            artifacts=artifacts,
            model_config={
                "class_names": list(data.class_names),
                "table_columns": tables,
                "image_columns": sorted(example.keys() - tables.keys()) if tables else [],
            },
            signature=raw_input_signature(raw_example, output),
            input_example=raw_example,
            pip_requirements=requirements,
        )
