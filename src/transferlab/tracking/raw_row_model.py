"""An MLflow pyfunc model that takes raw feature rows: fitted preprocessing + the Keras network."""
import mlflow.pyfunc
import pandas as pd


def predict_raw_rows(preprocessor, network, feature_columns, class_names, frame: pd.DataFrame) -> pd.DataFrame:
    """Class probabilities (probability_<class>) and the argmax class for raw rows."""
    from transferlab.evaluation.metrics import class_probabilities

    features = preprocessor.transform(frame[feature_columns]).astype("float32")
    probabilities = class_probabilities(network, features)
    result = pd.DataFrame(probabilities, columns=[f"probability_{c}" for c in class_names], index=frame.index)
    result["prediction"] = [class_names[i] for i in probabilities.argmax(axis=1)]
    return result


class RawRowClassifier(mlflow.pyfunc.PythonModel):
    """mlflow.pyfunc.load_model(uri).predict(raw rows of the CSV) works with no other code."""

    def __init__(self, feature_columns: list[str], class_names: list[str]):
        self.feature_columns, self.class_names = list(feature_columns), list(class_names)

    def load_context(self, context):
        import joblib
        import keras

        self.preprocessor = joblib.load(context.artifacts["preprocessor"])
        self.network = keras.saving.load_model(context.artifacts["network"], compile=False)

    def predict(self, context, model_input: pd.DataFrame, params=None) -> pd.DataFrame:
        return predict_raw_rows(self.preprocessor, self.network, self.feature_columns, self.class_names, model_input)
