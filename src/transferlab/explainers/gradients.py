"""The one place that takes gradients, dispatching on the Keras backend."""

import keras
import numpy as np

from transferlab.explainers.activations import call_with_edits, layer_outputs, model_tensors
from transferlab.models.layers import model_input


def gradients(fn, x: np.ndarray, output_weights: np.ndarray) -> np.ndarray:
    """d/dx of sum(fn(x) * output_weights) for a function of backend tensors, as numpy.

    output_weights picks (and weights) the outputs to differentiate per row, e.g. a one-hot of
    the explained class. Keras 3 has no backend-neutral gradient op, hence the dispatch.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x_t = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            objective = tf.reduce_sum(fn(x_t) * output_weights)
        return tape.gradient(objective, x_t).numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda xs: jnp.sum(fn(xs) * output_weights))(jnp.asarray(x)))
    raise NotImplementedError(f"gradients on the {backend} backend")


def input_gradients(model, inputs: dict, name: str, output_weights: np.ndarray) -> np.ndarray:
    """d/dx of sum_i sum_k output_weights[i, k] * model(inputs)[i, k] for the input x = inputs[name]
    (the others held fixed), evaluated in inference mode."""
    others = {key: keras.ops.convert_to_tensor(array) for key, array in inputs.items() if key != name}
    return gradients(
        lambda x: model(model_input(model, others | {name: x}), training=False), inputs[name], output_weights
    )


def activation_gradients(model, inputs: dict, layer, output_weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(activations A of `layer` (nested anywhere in model), d sum(model(inputs) * output_weights) / dA).

    The gradient is taken w.r.t. an offset added to A, at offset 0: one function of a plain
    input, which both backends' autodiff handle the same way.
    """
    (activations,), _ = layer_outputs(model, inputs, [layer])
    tensors = model_tensors(model, inputs)

    def shifted(offset):
        return call_with_edits(model, tensors, {layer: lambda a: a + keras.ops.cast(offset, a.dtype)})

    return activations, gradients(shifted, np.zeros_like(activations), output_weights)
