"""Integrated-gradients checks shared by the in-process (TensorFlow) test and the JAX subprocess.

Run as a script (`KERAS_BACKEND=jax python tests/ig_reference.py`) it runs every check on
whatever backend Keras starts with and prints `ok backend=<name>`.
"""

import keras
import numpy as np

from transferlab.explainers.integrated_gradients import integrated_gradients

STEPS = 256


def tiny_mlp(n_features: int, n_outputs: int, seed: int) -> keras.Model:
    """A small random smooth network (tanh), sigmoid for one output and softmax otherwise."""
    keras.utils.set_random_seed(seed)
    inputs = keras.Input((n_features,))
    x = keras.layers.Dense(8, activation="tanh")(inputs)
    x = keras.layers.Dense(6, activation="tanh")(x)
    outputs = keras.layers.Dense(n_outputs, activation="sigmoid" if n_outputs == 1 else "softmax")(x)
    return keras.Model(inputs, outputs)


def output_gradients(model, points: np.ndarray, k: int) -> np.ndarray:
    """d model(p)[k] / dp for each row p of `points`, with the backend's own autodiff."""
    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        tensor = tf.constant(points)
        with tf.GradientTape() as tape:
            tape.watch(tensor)
            total = tf.reduce_sum(model(tensor, training=False)[:, k])
        return tape.gradient(total, tensor).numpy()
    if backend == "jax":
        import jax
        import jax.numpy as jnp

        return np.asarray(jax.grad(lambda p: jnp.sum(model(p, training=False)[:, k]))(jnp.asarray(points)))
    raise NotImplementedError(backend)


def reference_ig(model, x, baseline, target, steps: int) -> np.ndarray:
    """Textbook IG, one row at a time: trapezoid rule over steps+1 points of the straight path."""
    rows = []
    for row, k in zip(x, target):
        alphas = np.linspace(0.0, 1.0, steps + 1)
        path = (baseline + alphas[:, None] * (row - baseline)).astype("float32")
        grads = output_gradients(model, path, int(k))
        average = (grads[:-1] + grads[1:]).sum(axis=0) / (2 * steps)
        rows.append((row - baseline) * average)
    return np.array(rows)


def outputs(model, x, target) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(x, training=False)).astype("float64")[np.arange(len(x)), target]


def check_model(n_outputs: int, seed: int, baseline_kind: str) -> None:
    rng = np.random.default_rng(seed)
    n_features = 5
    model = tiny_mlp(n_features, n_outputs, seed)
    x = rng.normal(size=(12, n_features)).astype("float32")
    baseline = (np.zeros(n_features) if baseline_kind == "zero" else rng.normal(size=n_features)).astype("float32")
    target = rng.integers(0, n_outputs, size=len(x))

    attributions = integrated_gradients(model, {"features": x}, "features", baseline, target, steps=STEPS)
    assert attributions.shape == x.shape

    # Completeness: attributions add up to f(x) - f(baseline).
    expected = outputs(model, x, target) - outputs(model, np.repeat(baseline[None], len(x), axis=0), target)
    gap = np.abs(attributions.sum(axis=1) - expected).max()
    assert gap < 1e-3, f"completeness gap {gap}"

    # Same numbers as the per-row reference, and independent of how rows are chunked.
    reference = reference_ig(model, x, baseline, target, STEPS)
    difference = np.abs(attributions - reference).max()
    assert difference < 1e-5, f"differs from the reference by {difference}"
    chunked = integrated_gradients(
        model, {"features": x}, "features", baseline, target, steps=STEPS, chunk_rows=3 * (STEPS + 1)
    )
    assert np.abs(chunked - attributions).max() < 1e-6


CASES = [(1, 0, "zero"), (1, 1, "random"), (3, 2, "zero"), (3, 3, "random")]


def main() -> None:
    for case in CASES:
        check_model(*case)
    print(f"ok backend={keras.backend.backend()}")


if __name__ == "__main__":
    main()
