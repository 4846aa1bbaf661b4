"""The logged `model` artifact: an MLflow models-from-code pyfunc that takes what a user has.

Tables and texts: raw rows (a DataFrame of the CSV's columns; a text input's column holds one
message string per row), put through each input's fitted preprocessing (a text input's: its
vocabulary's token features); where the data also has images, each image input is a column of that DataFrame
holding one (H, W, C) pixel array (or nested list) per row. Image-only data: a mapping
`input name -> array` of raw pixels. Out: one probability column per class and the predicted class.

Decision rule: several classes, the most probable one; two classes, the positive (second) class
when its probability >= the `threshold` param: "0.5" by default, another number in [0, 1] as a
string, or the name of an F-beta threshold chosen on validation by the run ("f2"), which travel
in the model_config. Numeric columns take any number, a whole number for a decimal too (their
signature type is Any; they are converted to float64 here). Hostile numbers are refused, naming
the column and the first row: +-inf or beyond float32's range in the raw rows, and anything not
finite after the preprocessing (NaN where it does not impute); NaN where it imputes is imputed.

Self-contained on purpose (only mlflow, keras, joblib, numpy and pandas imports): MLflow loads this
file by itself, so a logged model needs neither transferlab installed nor a copy of the package.
"""

import joblib
import keras
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.models import set_model

DEFAULT_THRESHOLD = "0.5"  # the `threshold` param's default: the positive class from probability 0.5
FLOAT32_MAX = float(np.finfo(np.float32).max)


def refused(message: str) -> MlflowException:
    """A refused input or param: MLflow's INVALID_PARAMETER_VALUE (HTTP 400 when served)."""
    return MlflowException.invalid_parameter_value(message)


def probabilities_from_outputs(outputs: np.ndarray) -> np.ndarray:
    """(n, K) class probabilities from a network's outputs: a single sigmoid unit becomes [1 - p, p];
    softmax rows are renormalised in float64 (float32 rounding leaves sums ~1e-7 off 1)."""
    outputs = np.asarray(outputs, dtype="float64")
    if outputs.shape[1] == 1:
        return np.column_stack([1 - outputs[:, 0], outputs[:, 0]])
    return outputs / outputs.sum(axis=1, keepdims=True)


def row_name(index: pd.Index | None, position: int) -> str:
    """How an error names a row: its index label (its position in a mapping of arrays)."""
    label = position if index is None else index[position]
    return repr(label.item() if isinstance(label, np.generic) else label)


def as_numbers(frame: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    """`frame` with its numeric `columns` as float64 (the signature takes any type there, so that
    whole numbers pass for decimals and NaN for integers); a value that is no number is refused."""
    converted = {}
    for column in columns:
        values = pd.to_numeric(frame[column], errors="coerce")
        wrong = values.isna() & frame[column].notna()
        if wrong.any():
            position = int(np.argmax(wrong.to_numpy()))
            value = frame[column].iloc[position]
            raise refused(f"column {column!r}, row {row_name(frame.index, position)}: {value!r} is not a number")
        converted[column] = values.astype("float64")
    return frame.assign(**converted)


def check_raw_numbers(frame: pd.DataFrame) -> None:
    """Refuse +-inf and numbers beyond float32's range (the network's), naming the column and the
    first such row; NaN passes, as a missing value for the preprocessing."""
    numbers = frame.select_dtypes("number")
    values = numbers.to_numpy(dtype="float64")
    wrong = np.abs(values) > FLOAT32_MAX  # NaN compares False
    if wrong.any():
        row, column = np.argwhere(wrong)[0]
        raise refused(
            f"column {numbers.columns[column]!r}, row {row_name(frame.index, row)}: {values[row, column]:g} is not a "
            f"number the model takes; allowed: finite numbers within float32's range (|x| <= {FLOAT32_MAX:.4g}), "
            "NaN for a missing value"
        )


def check_texts(frame: pd.DataFrame, columns: list[str]) -> None:
    """Refuse a text column value that is not a string (a missing message, a number), naming the
    column and the first such row."""
    for column in columns:
        wrong = ~frame[column].map(lambda value: isinstance(value, str)).to_numpy(dtype=bool)
        if wrong.any():
            position = int(np.argmax(wrong))
            value = frame[column].iloc[position]
            raise refused(
                f"column {column!r}, row {row_name(frame.index, position)}: {value!r} is not a message string"
            )


def check_finite(inputs: dict, index: pd.Index | None, feature_names: dict) -> None:
    """Refuse network inputs that are not finite (NaN where the preprocessing imputes nothing, a
    value scaled beyond float32's range, a pixel NaN or inf), naming the feature and the first row."""
    for name, array in inputs.items():
        wrong = ~np.isfinite(array.reshape(len(array), -1))
        if wrong.any():
            row, position = np.argwhere(wrong)[0]
            where = (
                f"feature {feature_names[name][position]!r} of input {name!r}"
                if name in feature_names
                else f"input {name!r}"
            )
            raise refused(
                f"{where}, row {row_name(index, row)}: not a finite number after the model's preprocessing (a missing "
                "value it does not impute, or a value beyond float32's range); allowed: finite numbers"
            )


def network_inputs(config: dict, preprocessors: dict, model_input) -> tuple[dict, pd.Index | None]:
    """The network's named inputs from raw rows (a DataFrame of table columns, plus one column per
    image input) or a mapping of arrays (image-only data), and the rows' index; hostile numbers refused."""
    if isinstance(model_input, pd.DataFrame):
        tables, index = config["table_columns"], model_input.index
        rows = as_numbers(model_input, config["numeric_columns"])
        check_texts(rows, list(config.get("text_inputs", {}).values()))
        check_raw_numbers(rows[[column for columns in tables.values() for column in columns]])
        with np.errstate(over="ignore"):  # a scaled value beyond float32's range: refused by check_finite
            inputs = {
                name: preprocessors[name].transform(rows[columns]).astype("float32") for name, columns in tables.items()
            }
            inputs |= {name: np.stack(rows[name].to_numpy()).astype("float32") for name in config["image_columns"]}
    else:
        with np.errstate(over="ignore"):
            inputs, index = {name: np.asarray(array, dtype="float32") for name, array in model_input.items()}, None
    check_finite(inputs, index, config["feature_names"])
    return inputs, index


def decision_threshold(value: str, named: dict[str, float]) -> float:
    """The `threshold` param: a name of a threshold chosen on validation (f2), or a number in [0, 1]."""
    if value in named:
        return named[value]
    try:
        number = float(value)
    except ValueError:
        number = float("nan")
    if not 0 <= number <= 1:
        names = "".join(f", {name} ({threshold:g})" for name, threshold in named.items())
        raise refused(f'threshold={value}: allowed: a number in [0, 1] as a string (e.g. "0.3"){names}')
    return number


def prediction_table(
    probabilities: np.ndarray, class_names: list[str], index=None, threshold: float = 0.5
) -> pd.DataFrame:
    """probability_<class> columns and `prediction`: for two classes the second when its probability
    >= `threshold`, else the most probable class."""
    result = pd.DataFrame(probabilities, columns=[f"probability_{c}" for c in class_names], index=index)
    if len(class_names) == 2:
        predicted = (probabilities[:, 1] >= threshold).astype(int)
    else:
        predicted = probabilities.argmax(axis=1)
    result["prediction"] = [class_names[i] for i in predicted]
    return result


class RawRowClassifier(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(raw rows, or image arrays) works with no other code."""

    def load_context(self, context):
        self.config = dict(context.model_config)
        self.class_names = list(self.config["class_names"])
        self.thresholds = dict(self.config["thresholds"])  # f<beta> -> threshold chosen on validation
        tables = self.config["table_columns"]
        self.preprocessors = joblib.load(context.artifacts["preprocessors"]) if tables else {}
        self.network = keras.saving.load_model(context.artifacts["network"], compile=False)

    # model_input: raw rows (with image columns where the data has images), or for image-only data a
    # mapping of arrays. The pd.DataFrame hint only tells MLflow to skip its type-hint validation (it
    # would warn without a hint); the signature logged with the model describes the input.
    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        threshold = decision_threshold((params or {}).get("threshold", DEFAULT_THRESHOLD), self.thresholds)
        inputs, index = network_inputs(self.config, self.preprocessors, model_input)
        outputs = self.network.predict(inputs, batch_size=256, verbose=0)
        return prediction_table(probabilities_from_outputs(outputs), self.class_names, index, threshold)


set_model(RawRowClassifier())
