"""10. The same config and seed give the same metrics (in-process, TensorFlow)."""

import pytest

from conftest import FAST, child_runs, parent_runs

COMPARED_PREFIXES = ("test_", "val_", "threshold_", "oracle_")


@pytest.mark.slow
def test_same_seed_same_metrics(compose, run_job, tmp_path):
    overrides = (*FAST, "trainer.seed=7", "explainer=none")
    objectives = [run_job(compose(*overrides)) for _ in range(2)]
    assert objectives[0] == objectives[1]

    runs = sorted(parent_runs(tmp_path), key=lambda r: r.info.start_time)
    assert len(runs) == 2 and {r.info.status for r in runs} == {"FINISHED"}
    first, second = ({k: v for k, v in r.data.metrics.items() if k.startswith(COMPARED_PREFIXES)} for r in runs)
    assert "test_roc_auc" in first and "test_f2" in first
    assert first == second
    assert runs[0].data.tags["data_fingerprint"] == runs[1].data.tags["data_fingerprint"]
    losses = [child_runs(tmp_path, r)[0].data.metrics["val_loss"] for r in runs]
    assert losses[0] == losses[1]


@pytest.mark.slow
def test_different_seed_different_model(compose, run_job, tmp_path):
    for seed in (7, 8):
        run_job(compose(*FAST, f"trainer.seed={seed}", "explainer=none"))
    runs = parent_runs(tmp_path)
    assert len({r.data.metrics["test_log_loss"] for r in runs}) == 2
