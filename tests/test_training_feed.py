"""How training rows reach Keras (trainer.feed) and batch-wise prediction: the memory-lean paths
give the same rows and the same outputs as the plain ones."""

import numpy as np
import pytest

from transferlab.batches import ArrayBatches, tensorflow_dataset
from transferlab.evaluation.metrics import predict_array
from transferlab.training import AUTO_MIN_ROWS, feed


def epoch_batches(batches: ArrayBatches) -> list[tuple[np.ndarray, np.ndarray]]:
    return [batches[i] for i in range(len(batches))]


def epoch_rows(batches: ArrayBatches) -> list[np.ndarray]:
    return [yb for _, yb in epoch_batches(batches)]


def test_array_batches_cover_every_row_once_per_epoch_in_a_new_seeded_order():
    x = np.arange(1003 * 2, dtype=np.float32).reshape(1003, 2)
    y = np.arange(1003)
    batches = ArrayBatches(x, y, batch_size=100, seed=7)
    assert len(batches) == 11
    first = epoch_rows(batches)
    assert [len(b) for b in first] == [100] * 10 + [3]
    assert np.array_equal(np.sort(np.concatenate(first)), y)  # every row exactly once
    for i, rows in enumerate(first):
        assert np.all(np.diff(rows) > 0)  # gathered in ascending order
        xb, yb = batches[i]
        assert np.array_equal(xb[:, 0], 2 * yb)  # features stay with their label
    assert not np.array_equal(np.concatenate(first), y)  # shuffled
    batches.on_epoch_end()
    second = epoch_rows(batches)
    assert np.array_equal(np.sort(np.concatenate(second)), y)
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))  # reshuffled each epoch
    again = ArrayBatches(x, y, batch_size=100, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(first, epoch_rows(again)))  # seeded


def test_array_batches_without_seed_keep_rows_in_order_as_views():
    x = np.arange(250 * 2, dtype=np.float32).reshape(250, 2)
    batches = ArrayBatches(x, np.arange(250), batch_size=100, seed=None)
    assert [len(b) for b in epoch_rows(batches)] == [100, 100, 50]
    batches.on_epoch_end()
    assert np.array_equal(np.concatenate(epoch_rows(batches)), np.arange(250))
    assert np.shares_memory(batches[1][0], x)


def test_tensorflow_dataset_gives_the_same_batches_with_a_new_order_each_epoch_and_no_autotune():
    x = np.arange(1003 * 2, dtype=np.float32).reshape(1003, 2)
    y = np.arange(1003)
    expected = ArrayBatches(x, y, batch_size=100, seed=3)
    dataset = tensorflow_dataset(ArrayBatches(x, y, batch_size=100, seed=3))
    # Autotuning off: with it on, TensorFlow stalls at every epoch's end (tensorflow_dataset's docstring).
    assert dataset.options().autotune.enabled is False
    assert int(dataset.cardinality()) == 11
    for epoch in range(3):
        if epoch:
            expected.on_epoch_end()
        got = [(xb.numpy(), yb.numpy()) for xb, yb in dataset]
        assert len(got) == 11
        for (xb, yb), (want_x, want_y) in zip(got, epoch_batches(expected)):
            assert np.array_equal(yb, want_y) and np.array_equal(xb, want_x)
    assert not np.array_equal(np.concatenate([yb for _, yb in got]), y)


def test_feed_auto_batches_large_tensorflow_stages_only(monkeypatch):
    import keras

    assert keras.backend.backend() == "tensorflow"
    assert feed("auto", AUTO_MIN_ROWS) == "batches"
    assert feed("auto", AUTO_MIN_ROWS - 1) == "arrays"
    assert feed("arrays", 10 * AUTO_MIN_ROWS) == "arrays"
    assert feed("batches", 10) == "batches"
    monkeypatch.setattr(keras.backend, "backend", lambda: "jax")
    assert feed("auto", 10 * AUTO_MIN_ROWS) == "arrays"


def test_fit_on_array_batches_learns_like_fit_on_arrays():
    import keras

    rng = np.random.default_rng(0)
    x = rng.standard_normal((4000, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)

    def fit(**inputs):
        keras.utils.set_random_seed(0)  # the same initial weights for every feed
        model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
        model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
        history = model.fit(**inputs, epochs=5, verbose=0).history
        return history, [keras.ops.convert_to_numpy(w) for w in model.weights]

    class Consecutive(keras.utils.PyDataset):  # the reference: the arrays cut into consecutive batches
        def __len__(self):
            return -(-len(x) // 256)

        def __getitem__(self, i):
            return x[i * 256 : (i + 1) * 256], y[i * 256 : (i + 1) * 256]

    # Unshuffled, ArrayBatches trains exactly as the arrays' own batches in order do...
    batches, batches_weights = fit(x=ArrayBatches(x, y, batch_size=256, seed=None))
    reference, reference_weights = fit(x=Consecutive())
    for got, expected in zip(batches_weights, reference_weights):
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
    # ...and learns as fit on the arrays does (Keras' array path rounds differently: close, not equal).
    arrays, _ = fit(x=x, y=y, batch_size=256, shuffle=False)
    np.testing.assert_allclose(batches["loss"], arrays["loss"], rtol=0.02)
    assert abs(batches["accuracy"][-1] - arrays["accuracy"][-1]) <= 0.01
    # Shuffled (seeded), a different order learns as well as fit's own shuffling of the arrays.
    shuffled_arrays, _ = fit(x=x, y=y, batch_size=256, shuffle=True)
    shuffled_batches, _ = fit(x=ArrayBatches(x, y, batch_size=256, seed=0))
    assert len(shuffled_batches["loss"]) == 5
    assert shuffled_batches["accuracy"][-1] > 0.95 and shuffled_arrays["accuracy"][-1] > 0.95
    assert abs(shuffled_batches["loss"][-1] - shuffled_arrays["loss"][-1]) < 0.05


def test_fit_inputs_feed_batches_through_tf_data_on_tensorflow_and_learn():
    import keras
    import tensorflow as tf
    from omegaconf import OmegaConf

    from transferlab.training import StageData, fit_inputs

    rng = np.random.default_rng(0)
    x = rng.standard_normal((5000, 4)).astype(np.float32)
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    data = StageData(x[:4000], y[:4000], x[4000:], y[4000:])
    inputs = fit_inputs(
        data, OmegaConf.create({"batch_size": 256, "seed": 0}), "batches", class_weight={0: 1.0, 1: 1.0}
    )
    assert isinstance(inputs["x"], tf.data.Dataset) and isinstance(inputs["validation_data"], tf.data.Dataset)
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(
        optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"], steps_per_execution=4
    )
    history = model.fit(**inputs, epochs=5, verbose=0)
    assert len(history.history["val_loss"]) == 5
    assert history.history["val_accuracy"][-1] > 0.95


@pytest.mark.parametrize("rows", [5, 20_001])
def test_predict_array_batch_by_batch_matches_one_call(rows):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    x = np.random.default_rng(1).standard_normal((rows, 3)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    got = predict_array(model, {"features": x})
    assert got.shape == (rows, 2) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)


def two_input_rows(rows: int):
    """Named model inputs (a mapping input name -> array), as the data types hand them to stages."""
    rng = np.random.default_rng(0)
    x = {"a": rng.standard_normal((rows, 3)).astype(np.float32), "b": rng.standard_normal((rows, 2)).astype(np.float32)}
    y = (x["a"][:, 0] + x["b"][:, 1] > 0).astype(np.int32)
    return x, y


def two_input_model():
    import keras

    a, b = keras.Input((3,), name="a"), keras.Input((2,), name="b")
    output = keras.layers.Dense(1, activation="sigmoid")(keras.layers.Concatenate()([a, b]))
    model = keras.Model({"a": a, "b": b}, output)
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    return model


def test_array_batches_and_tf_data_take_the_same_rows_of_every_named_input():
    x, y = two_input_rows(1003)
    batches = ArrayBatches(x, y, batch_size=100, seed=5)
    assert len(batches) == 11
    xb, yb = batches[3]
    assert set(xb) == {"a", "b"} and len(xb["a"]) == len(xb["b"]) == len(yb) == 100
    rows = np.sort(batches.order[300:400])
    assert (
        np.array_equal(xb["a"], x["a"][rows]) and np.array_equal(xb["b"], x["b"][rows]) and np.array_equal(yb, y[rows])
    )
    dataset = tensorflow_dataset(ArrayBatches(x, y, batch_size=100, seed=5))
    got = [(xb, yb) for xb, yb in dataset]
    assert len(got) == 11 and set(got[3][0]) == {"a", "b"}
    assert np.array_equal(got[3][0]["a"].numpy(), xb["a"]) and np.array_equal(got[3][0]["b"].numpy(), xb["b"])
    assert np.array_equal(got[3][1].numpy(), yb)


@pytest.mark.parametrize("how", ["arrays", "batches"])
def test_fit_inputs_take_named_inputs_and_learn(how):
    import tensorflow as tf
    from omegaconf import OmegaConf

    from transferlab.training import StageData, fit_inputs

    x, y = two_input_rows(5000)
    train = {name: a[:4000] for name, a in x.items()}
    val = {name: a[4000:] for name, a in x.items()}
    inputs = fit_inputs(
        StageData(train, y[:4000], val, y[4000:]), OmegaConf.create({"batch_size": 256, "seed": 0}), how
    )
    if how == "batches":
        assert isinstance(inputs["x"], tf.data.Dataset) and isinstance(inputs["validation_data"], tf.data.Dataset)
    history = two_input_model().fit(**inputs, epochs=5, verbose=0)
    assert len(history.history["val_loss"]) == 5
    assert history.history["val_accuracy"][-1] > 0.95
