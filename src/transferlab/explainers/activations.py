"""Convolutional layers of (nested) Keras functional models, and their activations on given inputs.

Image classifiers here nest models (classifier -> "encoder" -> keras.applications backbone), and
Keras 3 cannot build `keras.Model(outer.inputs, nested_layer.output)` (the graph is disconnected).
So the model is re-run through its own functional graph with the chosen layers' outputs passed
through edit functions, which reads activations and lets gradients flow into them (see gradients.py).
"""

import keras
from keras.src.models.functional import Functional, operation_fn, unpack_singleton

from transferlab.errors import ConfigError
from transferlab.models.layers import all_layers, model_input

CONV_LAYERS = (keras.layers.Conv2D, keras.layers.DepthwiseConv2D, keras.layers.SeparableConv2D)


def conv_layers(model) -> list:
    """2-D convolutional layers (any subclass), in forward order, searched through nested models."""
    return [layer for layer in all_layers(model) if isinstance(layer, CONV_LAYERS)]


def required_conv_layers(model, key: str, value, needs: str) -> list:
    """conv_layers(model), or a ConfigError naming `key`=`value` when the model has none
    (`needs`: who needs one, e.g. "Grad-CAM needs one")."""
    convs = conv_layers(model)
    if not convs:
        raise ConfigError(
            key,
            value,
            f"model {model.name} has no convolutional layer; {needs} (choose integrated_gradients, shap or lime)",
        )
    return convs


def model_tensors(model, inputs: dict):
    """Named numpy inputs as backend tensors, in the structure `model` takes."""
    return model_input(model, {name: keras.ops.convert_to_tensor(array) for name, array in inputs.items()})


def call_with_edits(model, x, edits: dict):
    """model(x, training=False), with the output of each layer in `edits` replaced by
    edits[layer](output), also inside nested functional models; backend tensors in and out.

    Keras has no public hook into a functional model's forward pass, so this uses the graph walker
    Functional.call itself uses (`_run_through_graph`, `operation_fn`) and recurses into nested
    functional models that contain an edited layer.
    """

    def run(op):
        call = operation_fn(op, training=False)
        if op in edits:
            return lambda *args, **kwargs: edits[op](call(*args, **kwargs))
        if isinstance(op, Functional) and any(layer in edits for layer in all_layers(op)):
            return lambda inputs, *args, **kwargs: call_with_edits(op, inputs, edits)
        return call

    return unpack_singleton(model._run_through_graph(x, operation_fn=run))


def layer_outputs(model, inputs: dict, layers: list):
    """(activations of each of `layers` as numpy arrays, the model's output) for named inputs, in inference mode."""
    captured = {}

    def keep(layer):
        def edit(activation):
            captured[layer] = activation
            return activation

        return edit

    output = call_with_edits(model, model_tensors(model, inputs), {layer: keep(layer) for layer in layers})
    return [keras.ops.convert_to_numpy(captured[layer]) for layer in layers], keras.ops.convert_to_numpy(output)
