"""Log the trained network (Keras 3 flavor) and a raw-row model (preprocessing + network)."""
import tempfile
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

import joblib
import mlflow
from mlflow.models import infer_signature

import transferlab
from transferlab.data.prepared import PreparedData
from transferlab.evaluation.metrics import predict_array
from transferlab.tracking.raw_row_model import RawRowClassifier, predict_raw_rows

EXAMPLE_ROWS = 5
RUNTIME_PACKAGES = ("keras", "tensorflow", "tensorflow-cpu", "jax", "scikit-learn", "pandas", "numpy", "joblib", "cloudpickle")


def pinned_requirements() -> list[str]:
    """Installed versions of what the logged models need. Passing these skips MLflow's
    requirement inference, which re-loads every model in a subprocess (~8 s each)."""
    found = []
    for name in RUNTIME_PACKAGES:
        try:
            found.append(f"{name}=={version(name)}")
        except PackageNotFoundError:
            continue
    return found


def log_models(classifier, encoder, data: PreparedData) -> None:
    """Artifacts `model` (pyfunc: raw CSV rows -> probabilities), `keras_model` (the network on
    preprocessed features) and, when there is one, `encoder` (for transfer from this run).
    Image networks take raw pixels (their preprocessing is in the model): `keras_model` is all
    they need, so they get no `model`."""
    x_example = data.x_test[:EXAMPLE_ROWS]
    # The Keras flavor gets a signature but no input_example: mlflow.keras.log_model writes the
    # example before creating its folder and crashes (mlflow/mlflow#16183, open in MLflow 3.17).
    requirements = pinned_requirements()
    for name, network in (("keras_model", classifier), ("encoder", encoder)):
        if network is not None:
            signature = infer_signature(x_example, predict_array(network, x_example))
            mlflow.keras.log_model(network, name=name, signature=signature, pip_requirements=requirements)
    if data.preprocessor is None:
        return
    raw_example = data.raw_examples
    columns, classes = data.raw_columns, data.class_names
    output = predict_raw_rows(data.preprocessor, classifier, columns, classes, raw_example)
    with tempfile.TemporaryDirectory() as tmp:
        network, preprocessor = Path(tmp, "network.keras"), Path(tmp, "preprocessor.joblib")
        classifier.save(network)
        joblib.dump(data.preprocessor, preprocessor)
        mlflow.pyfunc.log_model(
            name="model", python_model=RawRowClassifier(columns, classes),
            artifacts={"network": str(network), "preprocessor": str(preprocessor)},
            code_paths=[str(Path(transferlab.__file__).parent)],
            signature=infer_signature(raw_example, output), input_example=raw_example, pip_requirements=requirements,
        )
