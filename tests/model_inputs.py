"""Input specs for building models in tests without a dataset."""

from transferlab.data.inputs import image_input, table_input


def table(n_features: int, name: str = "features") -> dict:
    columns = [f"f{i}" for i in range(n_features)]
    return {name: table_input(name, columns, columns)}


def images(shape, name: str = "image") -> dict:
    return {name: image_input(name, shape)}
