"""From a dataset config to PreparedData, whatever kind of source the loader returns."""

from hydra.utils import instantiate
from omegaconf import DictConfig

from transferlab.data.prepared import PreparedData
from transferlab.data.preprocessing import prepare
from transferlab.data.splits import split_table
from transferlab.data.table import Table


def load_prepared(dataset: DictConfig) -> PreparedData:
    """Tables are split at random (dataset.split.test_size, ...) and preprocessed, their columns
    grouped into named inputs by dataset.inputs; array sources (HIGGS, images) prepare themselves
    from dataset.split (n_train, n_extra, n_test, val_fraction, ...)."""
    loaded = instantiate(dataset.loader)
    if isinstance(loaded, Table):
        return prepare(loaded, split_table(loaded, **dataset.split), dataset.inputs)
    return loaded.prepare(**dataset.split)
