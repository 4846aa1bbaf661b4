"""The logged `model` artifact: an MLflow models-from-code pyfunc that takes what a user has.

Tables: raw rows (a DataFrame of the CSV's columns), put through each table input's fitted
preprocessing; where the data also has images, each image input is a column of that DataFrame
holding one (H, W, C) pixel array (or nested list) per row. Image-only data: a mapping
`input name -> array` of raw pixels. Out: one probability column per class and the predicted class.

Self-contained on purpose (only mlflow, keras, joblib, numpy and pandas imports): MLflow loads this
file by itself, so a logged model needs neither transferlab installed nor a copy of the package.
"""

import joblib
import keras
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.models import set_model


def probabilities_from_outputs(outputs: np.ndarray) -> np.ndarray:
    """(n, K) class probabilities from a network's outputs: a single sigmoid unit becomes [1 - p, p];
    softmax rows are renormalised in float64 (float32 rounding leaves sums ~1e-7 off 1)."""
    outputs = np.asarray(outputs, dtype="float64")
    if outputs.shape[1] == 1:
        return np.column_stack([1 - outputs[:, 0], outputs[:, 0]])
    return outputs / outputs.sum(axis=1, keepdims=True)


def network_inputs(
    preprocessors: dict, table_columns: dict, image_columns: list, model_input
) -> tuple[dict, pd.Index | None]:
    """The network's named inputs from raw rows (a DataFrame of table columns, plus one column per
    image input) or a mapping of arrays (image-only data), and the rows' index."""
    if isinstance(model_input, pd.DataFrame):
        inputs = {
            name: preprocessors[name].transform(model_input[columns]).astype("float32")
            for name, columns in table_columns.items()
        }
        inputs |= {name: np.stack(model_input[name].to_numpy()).astype("float32") for name in image_columns}
        return inputs, model_input.index
    return {name: np.asarray(array, dtype="float32") for name, array in model_input.items()}, None


def prediction_table(probabilities: np.ndarray, class_names: list[str], index=None) -> pd.DataFrame:
    """probability_<class> columns and the argmax class as `prediction`."""
    result = pd.DataFrame(probabilities, columns=[f"probability_{c}" for c in class_names], index=index)
    result["prediction"] = [class_names[i] for i in probabilities.argmax(axis=1)]
    return result


class RawRowClassifier(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(raw rows, or image arrays) works with no other code."""

    def load_context(self, context):
        config = context.model_config
        self.class_names, self.table_columns = list(config["class_names"]), dict(config["table_columns"])
        self.image_columns = list(config.get("image_columns", []))
        self.preprocessors = joblib.load(context.artifacts["preprocessors"]) if self.table_columns else {}
        self.network = keras.saving.load_model(context.artifacts["network"], compile=False)

    # model_input: raw rows (with image columns where the data has images), or for image-only data a
    # mapping of arrays. The pd.DataFrame hint only tells MLflow to skip its type-hint validation (it
    # would warn without a hint); the signature logged with the model describes the input.
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        inputs, index = network_inputs(self.preprocessors, self.table_columns, self.image_columns, model_input)
        outputs = self.network.predict(inputs, batch_size=256, verbose=0)
        return prediction_table(probabilities_from_outputs(outputs), self.class_names, index)


set_model(RawRowClassifier())
