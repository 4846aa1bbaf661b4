"""Rows fed to Keras one batch at a time (trainer.feed=batches).

Why not the arrays themselves: on TensorFlow, Keras' array adapter puts each array passed to
`fit` into its `tf.data` pipeline as one constant, a full copy that TensorFlow still holds after
the fit, so a large run's later stages stack on it
(measurements: benchmarks/README.md, 'Why the code is shaped this way'). A
`keras.utils.PyDataset` that gathers one batch of rows per step holds one batch copy at a time.
Keras ships no shuffled batch view of in-memory arrays (PyDataset is the base class a user
fills in), hence this small class.

Model inputs are one array or a mapping input name -> array (several inputs of one model, e.g.
{"features": x}); every array has one row per label, and rows are taken from each alike
(`keras.tree`), so a batch keeps the structure Keras was given.
"""

import itertools
import math

import keras
import numpy as np

# Batches that tensorflow_dataset prepares ahead of the training step.
PREFETCH_BATCHES = 2


class ArrayBatches(keras.utils.PyDataset):
    """(x, y) batches over a fresh seeded permutation of the rows every epoch: each row once per
    epoch, like fit(shuffle=True) on the arrays. Rows inside a batch are gathered in ascending
    order (faster reads; the batch's gradient does not depend on row order). seed=None keeps the
    rows in order (validation), each batch a view. `start_epoch`: the epochs a resumed stage has
    already trained; their permutations are drawn and dropped, so later epochs see the rows in the
    order an uninterrupted stage would.

    No worker threads of its own: on TensorFlow its batches are produced in tf.data's
    prefetching thread (see tensorflow_dataset), which was faster than Keras' 2-thread enqueuer
    (measurements: benchmarks/README.md, 'Why the code is shaped this way')."""

    def __init__(self, x, y: np.ndarray, batch_size: int, seed: int | None, start_epoch: int = 0):
        super().__init__()
        self.x, self.y, self.batch_size = x, y, batch_size
        self.rng = None if seed is None else np.random.default_rng(seed)
        self.order = None if seed is None else self.rng.permutation(n_rows(y))
        for _ in range(start_epoch):
            self.on_epoch_end()

    def __len__(self) -> int:
        return math.ceil(n_rows(self.y) / self.batch_size)

    def __getitem__(self, index: int):
        rows = self.rows(index)
        return rows_of(self.x, rows), rows_of(self.y, rows)

    def rows(self, index: int) -> slice | np.ndarray:
        """The rows of batch `index`: a slice in order (seed=None), else sorted indices."""
        window = slice(index * self.batch_size, (index + 1) * self.batch_size)
        return window if self.rng is None else np.sort(self.order[window])

    def on_epoch_end(self) -> None:
        if self.rng is not None:
            self.order = self.rng.permutation(n_rows(self.y))


class EvenBatches(ArrayBatches):
    """ArrayBatches for data-parallel training (trainer.distribute): (x, y, sample weight) batches
    whose row count is a multiple of `replicas`, so every device gets an equal share. Keras' JAX
    DataParallel cannot split an uneven batch (keras-team/keras#21167), and TensorFlow's
    MirroredStrategy averages its unequal shares' mean losses, weighing rows unequally.

    A smaller last batch is padded with repeats of its rows at weight 0, and its own rows'
    weights are scaled by padded / real size: its mean loss, hence the training step, is the one
    device's. Weights are the rows' `class_weight` (None: 1). Per-epoch means (loss, accuracy,
    val_loss) still count the padded batch at its padded size (README: 'Data-parallel training').

    `shard` = (index, count): a process of a multi-process job feeds rows index, index + count, ...
    of each batch, the other processes the rest; together they feed the whole batch."""

    def __init__(
        self, x, y, batch_size: int, seed: int | None, replicas: int, class_weight=None, start_epoch=0, shard=(0, 1)
    ):
        super().__init__(x, y, batch_size, seed, start_epoch)
        self.replicas = replicas
        self.shard = slice(shard[0], None, shard[1])
        self.weights = np.ones(n_rows(y), "float32")
        if class_weight is not None:
            self.weights = np.vectorize(class_weight.__getitem__, otypes=["float32"])(y)

    def __getitem__(self, index: int):
        rows = self.rows(index)
        if isinstance(rows, slice):
            rows = np.arange(*rows.indices(n_rows(self.y)))
        padding = -len(rows) % self.replicas
        weights = self.weights[rows] * ((len(rows) + padding) / len(rows))
        rows = np.resize(rows, len(rows) + padding)[self.shard]  # the padding repeats the batch's rows
        weights = np.pad(weights, (0, padding))[self.shard].astype("float32")
        return rows_of(self.x, rows), rows_of(self.y, rows), weights


def n_rows(y) -> int:
    """Rows of the targets: labels, or the inputs themselves (reconstruction pretraining)."""
    return len(y) if isinstance(y, np.ndarray) else len(keras.tree.flatten(y)[0])


def rows_of(x, rows):
    """`x[rows]` for one array or for each array of a mapping of named inputs."""
    if isinstance(x, np.ndarray):  # the common case, without keras.tree's traversal per batch
        return x[rows]
    return keras.tree.map_structure(lambda a: a[rows], x)


def tensorflow_dataset(batches: ArrayBatches, distributed: bool = False):
    """`batches` as a `tf.data` pipeline with tf.data's autotuning off (TensorFlow backend only).

    Why not hand Keras the PyDataset: Keras wraps it (and arrays) in a pipeline with autotuning
    on, and TensorFlow 2.21 destroys an epoch's iterator only once its autotune thread wakes from
    a sleep that keeps doubling; Keras makes a new iterator every epoch, so epochs stood idle
    (measurements: benchmarks/README.md, 'Why the code is shaped this way'). Keras has no switch for
    the pipelines it builds, hence this one: same batches, a fixed prefetch, no autotune thread.
    Every epoch after the first starts with `on_epoch_end` (a new order), as Keras does it.
    `distributed`: trained under a tf.distribute strategy (trainer.distribute), where Keras first
    reads one batch from an extra pass to build the model (Keras 3's TF trainer,
    `_maybe_symbolic_build`); that pass is no epoch, so the rows keep the one-device order.
    """
    import tensorflow as tf

    epochs = itertools.count(-1 if distributed else 0)

    def one_epoch():
        if next(epochs) > 0:
            batches.on_epoch_end()
        for index in range(len(batches)):
            yield batches[index]

    signature = keras.tree.map_structure(
        lambda a: tf.TensorSpec((None, *a.shape[1:]), tf.as_dtype(a.dtype)), batches[0]
    )
    options = tf.data.Options()
    options.autotune.enabled = False
    dataset = tf.data.Dataset.from_generator(one_epoch, output_signature=signature)
    return (
        dataset.apply(tf.data.experimental.assert_cardinality(len(batches)))
        .prefetch(PREFETCH_BATCHES)
        .with_options(options)
    )
