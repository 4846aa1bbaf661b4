"""Process set-up: on the JAX backend a whole LoRA round trip never imports TensorFlow; the JAX
compilation cache is off for null and stores what is compiled otherwise."""

import pytest

from conftest import run_python

JAX_ROUND_TRIP = """
import sys
import numpy as np
from transferlab.runtime import configure_keras, seed_everything
configure_keras("cpu", "float32")
seed_everything(0)
import keras
from transferlab.models.resnet_mlp import ResidualMLP
from transferlab.data.inputs import table_input
from transferlab.strategies.lora import add_adapters, merged_copy
model = add_adapters(ResidualMLP(width=8, head_units=4).build_classifier(\
{"features": table_input("features", [str(i) for i in range(28)], [])}, 2), 2, 0.2)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(np.zeros((8, 28), "float32"), np.zeros(8, "float32"), epochs=1, verbose=0)
merged = merged_copy(model)
merged.save(sys.argv[1])
keras.saving.load_model(sys.argv[1])
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


@pytest.mark.slow
def test_jax_runs_never_import_tensorflow(tmp_path):
    """Keras imports TensorFlow (~400 MB resident) for optional checks when it is installed;
    configure_keras keeps it out of JAX processes, through seeding, cloning, saving and loading."""
    stdout = run_python("-c", JAX_ROUND_TRIP, str(tmp_path / "merged.keras"))
    assert "tensorflow imported: False" in stdout


CACHE_SWITCH = """
import sys
from pathlib import Path
import jax
from transferlab.runtime import use_compilation_cache
first, second = Path(sys.argv[1]) / "first", Path(sys.argv[1]) / "second"
def entries():
    return [len(list(folder.glob("*-cache"))) for folder in (first, second)]
use_compilation_cache(None)
jax.jit(lambda x: x + 1)(1.0).block_until_ready()
print("off:", jax.config.jax_compilation_cache_dir, first.exists())
use_compilation_cache(str(first))
jax.jit(lambda x: x * 3)(1.0).block_until_ready()
print("first:", entries())
use_compilation_cache(str(second))
jax.jit(lambda x: x * 5)(1.0).block_until_ready()
print("second:", entries())
use_compilation_cache(None)
jax.jit(lambda x: x * 7)(1.0).block_until_ready()
print("off again:", entries())
"""


@pytest.mark.slow
def test_compilation_cache_follows_the_setting_within_a_process(tmp_path):
    """null: nothing stored; a folder: what is compiled from then on is stored there, also after
    a compilation without a cache, and when a later job of the same process names another folder
    or null (JAX opens its cache once per process)."""
    stdout = run_python("-c", CACHE_SWITCH, str(tmp_path))
    assert "off: None False" in stdout
    assert "first: [1, 0]" in stdout
    assert "second: [1, 1]" in stdout
    assert "off again: [1, 1]" in stdout


FREEZE_ONCE = """
import gc
from transferlab.runtime import configure_keras
configure_keras("cpu", "float32")
frozen = gc.get_freeze_count()
garbage = [[]]; garbage[0].append(garbage)   # a cycle made after the first job's set-up
configure_keras("cpu", "float32")            # a later sweep job in the same process
print("frozen:", frozen > 100_000, gc.get_freeze_count() == frozen)
"""


@pytest.mark.slow
def test_imported_objects_are_frozen_once_so_full_collections_skip_them():
    """gc.freeze after the imports: release_free_memory's gc.collect no longer walks TensorFlow's
    and Keras' objects (0.5-0.8 s a call); a second job does not freeze its own leftovers."""
    stdout = run_python("-c", FREEZE_ONCE, backend="tensorflow")
    assert "frozen: True True" in stdout
