"""Layer stacks shared by the builders, and a walk over the layers of nested models."""

import keras


def dense_stack(x, units, activation: str, dropout: float = 0.0, name: str = "hidden"):
    """Dense layers of `units`, with Dropout between consecutive layers when dropout > 0."""
    for i, width in enumerate(units):
        if i > 0 and dropout > 0:
            x = keras.layers.Dropout(dropout, name=f"{name}_dropout_{i}")(x)
        x = keras.layers.Dense(width, activation=activation, name=f"{name}_{i}")(x)
    return x


def output_units(n_classes: int) -> int:
    """Width of a classifier's output: one sigmoid unit for two classes, one softmax unit per class otherwise."""
    return 1 if n_classes == 2 else n_classes


def output_activation(n_classes: int) -> str:
    return "sigmoid" if n_classes == 2 else "softmax"


def classification_output(x, n_classes: int, kernel_regularizer=None):
    """One sigmoid unit for two classes, a softmax otherwise; float32 even under mixed precision."""
    return keras.layers.Dense(
        output_units(n_classes),
        activation=output_activation(n_classes),
        kernel_regularizer=kernel_regularizer,
        dtype="float32",
        name="output",
    )(x)


def classification_loss(n_classes: int) -> str:
    return "binary_crossentropy" if n_classes == 2 else "sparse_categorical_crossentropy"


def named_inputs(specs) -> dict:
    """One keras.Input per dataset input, named after it: a model built on these is called with
    the mapping `input name -> array`."""
    return {name: keras.Input(tuple(spec.shape), name=name) for name, spec in specs.items()}


def model_input(model: keras.Model, inputs: dict):
    """`inputs` (input name -> array or tensor) in the structure `model` was built with: a mapping
    for models built here, a single tensor or list for models built elsewhere (matched by name;
    a single-input model takes the only input whatever its name)."""
    if isinstance(model, keras.Sequential):  # one input, no structure of its own
        (value,) = inputs.values()
        return value
    if len(model.inputs) == 1 and len(inputs) == 1:
        (value,) = inputs.values()
        return keras.tree.map_structure(lambda _: value, model.input)
    return keras.tree.map_structure(lambda tensor: inputs[tensor.name], model.input)


def encoder_features(inputs: dict, encoder: keras.Model):
    """Call a (possibly frozen) encoder on named inputs in inference mode, so dropout/noise/BatchNorm stay fixed."""
    return encoder(model_input(encoder, inputs), training=False)


def residual_block(x, units: int, activation: str, name: str):
    """Dense(units, activation) -> Dense(units, linear) -> + input -> activation (seed 001's block)."""
    out = keras.layers.Dense(units, activation=activation, name=f"{name}_dense_1")(x)
    out = keras.layers.Dense(units, name=f"{name}_dense_2")(out)
    out = keras.layers.Add(name=f"{name}_add")([out, x])
    return keras.layers.Activation(activation, name=f"{name}_{activation}")(out)


def all_layers(model: keras.Model):
    """Every layer in forward order, depth first: a nested model (the encoder, a keras.applications
    backbone) is followed by its own layers."""
    for layer in model.layers:
        yield layer
        if isinstance(layer, keras.Model):
            yield from all_layers(layer)
