"""Layer stacks shared by the builders."""
import keras


def dense_stack(x, units, activation: str, dropout: float = 0.0, name: str = "hidden"):
    """Dense layers of `units`, with Dropout between consecutive layers when dropout > 0."""
    for i, width in enumerate(units):
        if i > 0 and dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout_{i}")(x)
        x = keras.layers.Dense(width, activation=activation, name=f"{name}_{i}")(x)
    return x


def classification_output(x, n_classes: int):
    """One sigmoid unit for two classes, a softmax otherwise; float32 even under mixed precision."""
    if n_classes == 2:
        return keras.layers.Dense(1, activation="sigmoid", dtype="float32", name="output")(x)
    return keras.layers.Dense(n_classes, activation="softmax", dtype="float32", name="output")(x)


def classification_loss(n_classes: int) -> str:
    return "binary_crossentropy" if n_classes == 2 else "sparse_categorical_crossentropy"


def encoder_features(inputs, encoder):
    """Call a (possibly frozen) encoder in inference mode, so dropout/noise/BatchNorm stay fixed."""
    return encoder(inputs, training=False)
