"""From a dataset config to PreparedData, whatever kind of source the loader returns."""

from hydra.utils import instantiate
from omegaconf import DictConfig

from transferlab.data.prepared import PreparedData
from transferlab.data.preprocessing import prepare
from transferlab.data.splits import split_table
from transferlab.data.table import Table
from transferlab.data.text_features import text_settings
from transferlab.errors import ConfigError


def load_prepared(dataset: DictConfig) -> PreparedData:
    """Tables are split at random (dataset.split.test_size, ...) and preprocessed, their columns
    grouped into named inputs by dataset.inputs, their text columns vectorised (dataset.text), their
    dataset.subgroups kept for the test rows; array sources
    (HIGGS, images) prepare themselves from dataset.split (n_train, n_extra, n_test,
    val_fraction, ...). Then only the inputs dataset.select_inputs names are kept."""
    loaded = instantiate(dataset.loader)
    subgroups = dataset.get("subgroups")
    if isinstance(loaded, Table):
        text = text_settings(dataset.get("text"))
        data = prepare(loaded, split_table(loaded, **dataset.split), dataset.inputs, subgroups, text)
    elif subgroups:
        raise ConfigError("dataset.subgroups", list(subgroups), f"{dataset.name} has no attribute columns; use null")
    else:
        data = loaded.prepare(**dataset.split)
    return select_inputs(data, dataset.get("select_inputs"))


def select_inputs(data: PreparedData, names) -> PreparedData:
    """`data` with only the named inputs (null: all), e.g. one modality of a multimodal dataset."""
    if names is None:
        return data
    available = list(data.specs)
    if isinstance(names, str):
        raise ConfigError("dataset.select_inputs", names, f"must be a list of input names, e.g. [{available[0]}]")
    unknown = [name for name in names if name not in available]
    if unknown or not names:
        raise ConfigError(
            "dataset.select_inputs", unknown[0] if unknown else [], f"inputs of this dataset: {', '.join(available)}"
        )
    return data.with_inputs(names)
