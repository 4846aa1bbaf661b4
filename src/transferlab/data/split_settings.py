"""dataset.split settings, one model per kind of source a loader returns: tables split at random
(`split_table`), images (`ImageArrays.prepare`) and seed 001's ordered rows (`LabelledRows.prepare`).

Checks that need the data (enough rows, a stratifiable class count, an official test split) stay
with the source's own prepare().
"""

import ast
import importlib.util

from transferlab.validation import Fraction, OptionalPositiveInt, PositiveInt, Settings, is_int, rule

OptionalFraction = rule(
    lambda v: v is None or (isinstance(v, (int, float)) and not isinstance(v, bool) and 0 < v < 1),
    "must be null or a fraction in (0, 1)",
)
ExtraRows = rule(
    lambda v: v is None or (is_int(v) and v >= 0), "must be null (all rows between train and test) or an integer >= 0"
)


class TableSplit(Settings):
    """Random stratified split of a Table: test first (seed 000's call), validation from the rest;
    with `group_column`, whole groups (a column's values, e.g. lesion_id) go to one part."""

    test_size: Fraction = 0.2
    val_size: Fraction = 0.2
    seed: int = 42
    stratify: bool = True
    group_column: str | None = None


class ImageSplit(Settings):
    """Images: `test_fraction` only without an official test split (prepare() knows which)."""

    val_fraction: Fraction = 0.1
    test_fraction: OptionalFraction = None
    subset: OptionalPositiveInt = None  # its range (2 per class .. the training images) needs the data
    seed: int = 42


class OrderedSplit(Settings):
    """Seed 001's ordered split (HIGGS): row counts; whether they fit the file needs the file."""

    n_train: PositiveInt
    n_test: PositiveInt
    n_extra: ExtraRows = None
    val_fraction: Fraction = 0.05


# The split model for each type a loader may return (by the name in the loader's return annotation).
SPLIT_SETTINGS = {"Table": TableSplit, "ImageArrays": ImageSplit, "LabelledRows": OrderedSplit}


def split_settings_for(loader_target: str, split_keys) -> type[Settings]:
    """The split model that fits the loader `loader_target` (`dataset.loader._target_`), from its
    return annotation, read from the source without importing it (loaders may import Keras, whose
    backend is not chosen yet). A loader without a known annotation: the model that has every key."""
    returned = return_annotation(loader_target)
    if returned in SPLIT_SETTINGS:
        return SPLIT_SETTINGS[returned]
    fitting = [model for model in SPLIT_SETTINGS.values() if set(split_keys) <= set(model.model_fields)]
    return fitting[0] if fitting else TableSplit


def return_annotation(target: str) -> str | None:
    """The name a function's return annotation gives, e.g. "Table", without importing its module."""
    module, _, name = target.rpartition(".")
    try:
        spec = importlib.util.find_spec(module)
        source = open(spec.origin, encoding="utf-8").read() if spec and spec.origin else ""
    except (ImportError, ValueError, OSError):
        return None
    for node in ast.parse(source).body:
        if isinstance(node, ast.FunctionDef) and node.name == name and node.returns is not None:
            return ast.unparse(node.returns).rpartition(".")[2]
    return None
