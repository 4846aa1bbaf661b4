"""How training rows reach Keras (trainer.feed) and batch-wise prediction: the memory-lean paths
give the same rows and the same outputs as the plain ones."""
import numpy as np
import pytest

from transferlab.batches import ArrayBatches
from transferlab.evaluation.metrics import predict_array
from transferlab.training import AUTO_MIN_ROWS, feed


def epoch_rows(batches: ArrayBatches) -> list[np.ndarray]:
    return [batches[i][1] for i in range(len(batches))]


def test_array_batches_cover_every_row_once_per_epoch_in_a_new_seeded_order():
    x = np.arange(1003 * 2, dtype=np.float32).reshape(1003, 2)
    y = np.arange(1003)
    batches = ArrayBatches(x, y, batch_size=100, seed=7)
    assert len(batches) == 11
    first = epoch_rows(batches)
    assert [len(b) for b in first] == [100] * 10 + [3]
    assert np.array_equal(np.sort(np.concatenate(first)), y)                 # every row exactly once
    for i, rows in enumerate(first):
        assert np.all(np.diff(rows) > 0)                                     # gathered in ascending order
        xb, yb = batches[i]
        assert np.array_equal(xb[:, 0], 2 * yb)                              # features stay with their label
    assert not np.array_equal(np.concatenate(first), y)                      # shuffled
    batches.on_epoch_end()
    second = epoch_rows(batches)
    assert np.array_equal(np.sort(np.concatenate(second)), y)
    assert not all(np.array_equal(a, b) for a, b in zip(first, second))      # reshuffled each epoch
    again = ArrayBatches(x, y, batch_size=100, seed=7)
    assert all(np.array_equal(a, b) for a, b in zip(first, epoch_rows(again)))  # seeded


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
    model = keras.Sequential([keras.Input((4,)), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(0.05), loss="binary_crossentropy", metrics=["accuracy"])
    history = model.fit(ArrayBatches(x, y, batch_size=256, seed=0), epochs=5, verbose=0, class_weight={0: 1.0, 1: 1.0})
    assert len(history.history["loss"]) == 5
    assert history.history["accuracy"][-1] > 0.95


@pytest.mark.parametrize("rows", [5, 20_001])
def test_predict_array_batch_by_batch_matches_one_call(rows):
    import keras

    model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, activation="softmax")])
    x = np.random.default_rng(1).standard_normal((rows, 3)).astype(np.float32)
    expected = keras.ops.convert_to_numpy(model(x, training=False))
    got = predict_array(model, x)
    assert got.shape == (rows, 2) and got.dtype == np.float64
    np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-7)
