"""7. Integrated gradients: completeness and agreement with a per-row reference, on both backends."""

import pytest

from conftest import REPO_ROOT, run_python


@pytest.mark.parametrize(
    ("n_outputs", "seed", "baseline"),
    [
        pytest.param(1, 0, "zero", id="sigmoid-zero-baseline"),
        pytest.param(1, 1, "random", id="sigmoid-random-baseline"),
        pytest.param(3, 2, "zero", id="softmax-zero-baseline"),
        pytest.param(3, 3, "random", id="softmax-random-baseline"),
    ],
)
def test_integrated_gradients_tensorflow(n_outputs, seed, baseline):
    import keras

    from ig_reference import check_model

    assert keras.backend.backend() == "tensorflow"
    check_model(n_outputs, seed, baseline)


@pytest.mark.slow
def test_integrated_gradients_jax():
    stdout = run_python(str(REPO_ROOT / "tests" / "ig_reference.py"))
    assert "ok backend=jax" in stdout
