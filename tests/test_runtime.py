"""Process set-up: on the JAX backend a whole LoRA round trip never imports TensorFlow."""
import subprocess
import sys

from conftest import REPO_ROOT, subprocess_env

JAX_ROUND_TRIP = """
import sys
import numpy as np
from transferlab.runtime import configure_keras, seed_everything
configure_keras("cpu", "float32")
seed_everything(0)
import keras
from transferlab.models.resnet_mlp import ResidualMLP
from transferlab.strategies.lora import add_adapters, merged_copy
model = add_adapters(ResidualMLP(width=8, head_units=4).build_classifier((28,), 2), 2, 0.2)
model.compile(optimizer="adam", loss="binary_crossentropy")
model.fit(np.zeros((8, 28), "float32"), np.zeros(8, "float32"), epochs=1, verbose=0)
merged = merged_copy(model)
merged.save(sys.argv[1])
keras.saving.load_model(sys.argv[1])
print("tensorflow imported:", "tensorflow" in sys.modules)
"""


def test_jax_runs_never_import_tensorflow(tmp_path):
    """Keras imports TensorFlow (~400 MB resident) for optional checks when it is installed;
    configure_keras keeps it out of JAX processes, through seeding, cloning, saving and loading."""
    result = subprocess.run([sys.executable, "-c", JAX_ROUND_TRIP, str(tmp_path / "merged.keras")], cwd=REPO_ROOT,
                            env=subprocess_env("jax"), capture_output=True, text=True, timeout=300)
    assert result.returncode == 0, result.stderr[-4000:]
    assert "tensorflow imported: False" in result.stdout
