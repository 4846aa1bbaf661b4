"""Log the trained network (Keras 3 flavor) and a pyfunc that predicts from raw rows or images."""

import tempfile
import warnings
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib
import keras
import mlflow
import numpy as np
import pandas as pd
from mlflow.models import ModelSignature, infer_signature
from mlflow.types.schema import AnyType, ColSpec, Schema

from transferlab.data.inputs import InputKind
from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import class_probabilities, predict_array
from transferlab.evaluation.report import beta_name
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


def raw_input_signature(raw_example, output, params: dict | None) -> ModelSignature:
    """infer_signature of raw rows and the pyfunc's params, with numeric columns declared as Any:
    MLflow's schema check refuses int64 for a double column (a whole number sent for a decimal) and
    float64 for a long one (NaN, a missing value, in an integer column); the pyfunc converts them to
    numbers itself. MLflow's hint about integer columns and missing values is therefore left out."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="Hint: Inferred schema contains integer column")
        signature = infer_signature(raw_example, output, params)
    numeric = set(numeric_columns(raw_example))
    if not numeric:
        return signature
    inputs = [ColSpec(AnyType(), c.name, c.required) if c.name in numeric else c for c in signature.inputs.inputs]
    return ModelSignature(Schema(inputs), signature.outputs, signature.params)


def numeric_columns(raw_example) -> list[str]:
    """Columns of raw table rows holding numbers (integer or float dtypes); none for image arrays."""
    if not isinstance(raw_example, pd.DataFrame):
        return []
    return [column for column, dtype in raw_example.dtypes.items() if dtype.kind in "iuf"]


def named_thresholds(threshold_table: pd.DataFrame | None) -> dict[str, float]:
    """f<beta> -> the threshold chosen on validation, from evaluation's threshold table (binary tasks)."""
    if threshold_table is None:
        return {}
    return {beta_name(row.beta): float(row.threshold) for row in threshold_table.itertuples()}


def pixel_lists(images: np.ndarray) -> list:
    """One nested list per image (what MLflow's signature and JSON input example take), integers
    when the pixels are whole numbers (0..255, as loaders hand them out)."""
    whole = np.array_equal(images, np.round(images))
    return (images.astype(np.int64) if whole else images).tolist()


def raw_model_example(data: PreparedData, example: dict, tables: dict) -> tuple:
    """The pyfunc's input example and its index: raw table rows (text columns among them), with one
    column per image input beside them for mixed data; for image-only data the mapping of pixel arrays itself."""
    if not tables:
        return example, None
    raw = data.raw_examples.copy()
    for name in example.keys() - tables.keys():
        raw[name] = pixel_lists(example[name])
    return raw, raw.index


def log_models(
    classifier: keras.Model,
    encoder: keras.Model | None,
    data: PreparedData,
    threshold_table: pd.DataFrame | None = None,
) -> None:
    """Artifacts `keras_model` (the network on model inputs), `encoder` when there is one (for
    transfer from this run), and `model`: a pyfunc taking raw rows (a DataFrame of table and text
    columns; image inputs as columns of pixel arrays) when the data has a table or text, else a
    mapping of raw arrays (images).
    `threshold_table` (evaluation's threshold_table.csv, binary tasks) gives the thresholds chosen
    on validation that the pyfunc's `threshold` param can name (f2)."""
    example = data.test.head(EXAMPLE_ROWS).inputs
    # The Keras flavor gets a signature but no input_example: mlflow.keras.log_model writes the
    # example before creating its folder and crashes (mlflow/mlflow#16183, open in MLflow 3.17).
    requirements = pinned_requirements()
    for name, network in (("keras_model", classifier), ("encoder", encoder)):
        if network is not None:
            signature = infer_signature(example, predict_array(network, example))
            mlflow.keras.log_model(network, name=name, signature=signature, pip_requirements=requirements)
    # Inputs preprocessed from raw columns: tables, and texts (their vocabulary pipeline).
    tables = {spec.name: list(spec.raw_columns) for spec in data.specs.values() if spec.kind != InputKind.IMAGE}
    texts = {spec.name: spec.raw_columns[0] for spec in data.inputs_of_kind(InputKind.TEXT)}
    raw_example, index = raw_model_example(data, example, tables)
    output = raw_row_model.prediction_table(class_probabilities(classifier, example), data.class_names, index)
    params = {"threshold": raw_row_model.DEFAULT_THRESHOLD} if data.n_classes == 2 else None
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
                "numeric_columns": numeric_columns(raw_example),
                "text_inputs": texts,
                "feature_names": {spec.name: list(spec.columns) for spec in data.inputs_of_kind(InputKind.TABLE)},
                "thresholds": named_thresholds(threshold_table),
            },
            signature=raw_input_signature(raw_example, output, params),
            input_example=(raw_example, params) if params else raw_example,
            pip_requirements=requirements,
        )
