"""The one place that takes input gradients, dispatching on the Keras backend."""
import keras
import numpy as np


def input_gradients(model, x: np.ndarray, output_weights: np.ndarray) -> np.ndarray:
    """d/dx of sum_i sum_k output_weights[i, k] * model(x)[i, k], evaluated in inference mode.

    output_weights picks (and weights) the outputs to differentiate per row, e.g. a one-hot of
    the explained class. Keras 3 has no backend-neutral gradient op, hence the dispatch.
    """
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        x_t = tf.convert_to_tensor(x)
        with tf.GradientTape() as tape:
            tape.watch(x_t)
            objective = tf.reduce_sum(model(x_t, training=False) * output_weights)
        return tape.gradient(objective, x_t).numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda xs: jnp.sum(model(xs, training=False) * output_weights))(jnp.asarray(x)))
    raise NotImplementedError(f"input gradients on the {backend} backend")
