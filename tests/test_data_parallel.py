"""trainer.distribute: data-parallel training on the CPU split into 2 devices (trainer.cpu_devices=2,
set before the backend starts, hence `python run.py` subprocesses) gives the one-device results,
and 2 processes of a multi_worker job give the 2-device results; the run logs its devices; bad
settings are one line, exit 2, no run."""

import subprocess
import sys

import numpy as np
import pytest
from conftest import (
    CLI_TIMEOUT_S,
    FAST,
    REPO_ROOT,
    all_runs,
    child_runs,
    describe,
    free_port,
    mlflow_client,
    parent_runs,
    rejection,
    store_overrides,
    subprocess_env,
)

from transferlab.errors import ConfigError


TWO_DEVICES = ("trainer.distribute=data_parallel", "trainer.cpu_devices=2")
# One device fed the same batches in the same order (trainer.feed=batches) is the reference. No
# dropout: TensorFlow draws each device's dropout mask for its share of the batch (JAX draws the
# same masks as one device).
SMALL = (*FAST, "trainer.epochs=3", "explainer=none", "model.dropout=0")
# Test metrics come from the trained model: measured equal to 7 digits on both backends.
MODEL_RTOL = 1e-5
# Per-epoch val_loss counts the padded last validation batch (27 of breast cancer's 91 rows, padded
# to 28) at its padded size: measured 4e-4 to 8e-4 relative.
EPOCH_MEAN_RTOL = 2e-3


def finished_run(tmp, distribute: str):
    runs = [r for r in parent_runs(tmp) if r.data.tags.get("distribute") == distribute]
    assert len(runs) == 1 and runs[0].info.status == "FINISHED", [r.info.status for r in runs]
    return runs[0]


def stage_run(tmp, run):
    (child,) = child_runs(tmp, run)
    return child


def val_losses(tmp, run) -> list[float]:
    return [m.value for m in mlflow_client(tmp).get_metric_history(stage_run(tmp, run).info.run_id, "val_loss")]


@pytest.mark.slow
@pytest.mark.parametrize("backend", ["jax", "tensorflow"])
def test_two_devices_train_as_one(run_cli, tmp_path, backend):
    """Same global batches on 2 devices as on 1: the same model (test metrics), the same per-epoch
    val_loss up to the padded batch's weight; the runs log their devices."""
    for overrides in (("trainer.feed=batches",), TWO_DEVICES):
        result = run_cli(*SMALL, *overrides, backend=backend)
        assert result.returncode == 0, result.stderr[-3000:]
    one, two = finished_run(tmp_path, "none"), finished_run(tmp_path, "data_parallel")
    assert one.data.tags["devices"] == "cpu:0"
    assert two.data.tags["devices"] == "cpu:0,cpu:1"
    replicas = [stage_run(tmp_path, run).data.params["stage.replicas"] for run in (one, two)]
    assert replicas == ["1", "2"]  # what the stage's fit really ran under
    for metric in ("test_roc_auc", "test_log_loss", "test_f1", "val_roc_auc"):
        assert two.data.metrics[metric] == pytest.approx(one.data.metrics[metric], rel=MODEL_RTOL), metric
    np.testing.assert_allclose(val_losses(tmp_path, two), val_losses(tmp_path, one), rtol=EPOCH_MEAN_RTOL)


@pytest.mark.slow
def test_batch_size_must_split_across_the_devices(run_cli, tmp_path):
    result = run_cli(*SMALL, *TWO_DEVICES, "trainer.batch_size=33", backend="jax")
    assert result.returncode == 2, result.stderr[-3000:]
    assert result.stderr.strip().splitlines()[-1] == (
        "error: trainer.batch_size=33: must be divisible by the device count, 2 "
        "(trainer.distribute=data_parallel splits each batch across cpu:0, cpu:1)"
    )
    assert all_runs(tmp_path) == []


def test_data_parallel_on_one_device_warns_and_trains_there(compose, run_job, tmp_path, caplog):
    run_job(compose(*SMALL, "trainer.epochs=1", "trainer.distribute=data_parallel"))
    warnings = [r.getMessage() for r in caplog.records if r.levelname == "WARNING" and "distribute" in r.getMessage()]
    assert warnings == ["trainer.distribute=data_parallel: only one device (cpu:0) is visible; training on it alone"]
    (run,) = parent_runs(tmp_path)
    assert (run.data.tags["distribute"], run.data.tags["devices"]) == ("data_parallel", "cpu:0")


@pytest.mark.parametrize(
    "override, line",
    [
        ("trainer.distribute=pipeline", "trainer.distribute=pipeline: allowed: none, data_parallel, multi_worker"),
        ("trainer.cpu_devices=0", "trainer.cpu_devices=0: must be a positive integer"),
    ],
)
def test_bad_distribute_settings_are_one_line(tmp_path, override, line):
    assert rejection(tmp_path, *FAST, override) == f"error: {line}"


@pytest.mark.slow
def test_two_processes_train_one_job_as_one_machine_with_two_devices(tmp_path):
    """multi_worker on JAX: 2 processes on 127.0.0.1 (1 CPU device each) train one job; only
    process 0 logs, and its run equals data_parallel over 2 devices of one process (same global
    batches); process 1's throwaway store is gone when it exits."""
    reference = subprocess.run(
        [sys.executable, "run.py", *SMALL, *TWO_DEVICES, *store_overrides(tmp_path)],
        cwd=REPO_ROOT,
        env=subprocess_env("jax", tmp_path),
        capture_output=True,
        text=True,
        timeout=CLI_TIMEOUT_S,
    )
    assert reference.returncode == 0, describe(reference)
    scratch = tmp_path / "tmpdir"
    scratch.mkdir()
    coordinator = f"127.0.0.1:{free_port()}"
    cluster = {"KERAS_DISTRIBUTION_JOB_ADDRESSES": f"{coordinator},127.0.0.1:{free_port()}", "TMPDIR": str(scratch)}
    processes = [
        subprocess.Popen(
            [sys.executable, "run.py", *SMALL, "trainer.distribute=multi_worker", *store_overrides(tmp_path / str(i))],
            cwd=REPO_ROOT,
            env=subprocess_env("jax", tmp_path)
            | cluster
            | {"KERAS_DISTRIBUTION_NUM_PROCESSES": "2", "KERAS_DISTRIBUTION_PROCESS_ID": str(i)},
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        for i in (0, 1)
    ]
    outputs = [process.communicate(timeout=CLI_TIMEOUT_S)[0] for process in processes]
    assert [process.returncode for process in processes] == [0, 0], outputs[0][-3000:] + outputs[1][-3000:]
    assert all_runs(tmp_path / "1") == [] and list(scratch.iterdir()) == []
    multi, one = finished_run(tmp_path / "0", "multi_worker"), finished_run(tmp_path, "data_parallel")
    assert len(all_runs(tmp_path / "0")) == 2  # the job and its stage
    assert multi.data.tags["devices"] == "cpu:0,cpu:2048"  # JAX numbers each process's devices apart
    assert (multi.data.tags["processes"], one.data.tags["processes"]) == ("2", "1")
    assert stage_run(tmp_path / "0", multi).data.params["stage.replicas"] == "2"
    for metric in ("test_roc_auc", "test_log_loss", "test_f1", "val_roc_auc"):
        assert multi.data.metrics[metric] == pytest.approx(one.data.metrics[metric], rel=MODEL_RTOL), metric
    np.testing.assert_allclose(val_losses(tmp_path / "0", multi), val_losses(tmp_path, one), rtol=MODEL_RTOL)


def test_multi_worker_on_tensorflow_is_refused_with_the_reason(tmp_path):
    line = rejection(tmp_path, *FAST, "trainer.distribute=multi_worker", "trainer.backend=tensorflow")
    assert line == (
        "error: trainer.distribute=multi_worker: is not supported on tensorflow: Keras 3's fit fails under "
        "MultiWorkerMirroredStrategy (keras-team/keras#20585); use trainer.backend=jax "
        "(README: 'Data-parallel training')"
    )


def test_multi_worker_names_the_missing_cluster_variables(monkeypatch):
    from transferlab.distribution import multi_worker_distribution

    monkeypatch.setenv("KERAS_DISTRIBUTION_NUM_PROCESSES", "2")
    monkeypatch.delenv("KERAS_DISTRIBUTION_JOB_ADDRESSES", raising=False)
    monkeypatch.delenv("KERAS_DISTRIBUTION_PROCESS_ID", raising=False)
    with pytest.raises(ConfigError, match="KERAS_DISTRIBUTION_JOB_ADDRESSES, KERAS_DISTRIBUTION_PROCESS_ID not set"):
        multi_worker_distribution()


def test_multi_worker_in_a_sweep_is_refused_before_any_job(run_cli, tmp_path):
    result = run_cli("-m", *FAST, "trainer.distribute=multi_worker", "trainer.seed=0,1", backend="jax")
    assert result.returncode == 2, describe(result)
    line = "trainer.distribute=multi_worker: trains one job across processes: run it without -m, on every process"
    assert result.stderr.splitlines() == [f"error: job 0: {line}", f"error: job 1: {line}"], describe(result)
    assert all_runs(tmp_path) == []


def test_even_batches_pad_the_last_batch_to_the_one_device_mean():
    """A 7-row last batch on 2 devices: 8 rows, the repeat at weight 0, the 7 rows' class weights
    scaled by 8/7, so the weighted mean over 8 rows is the one-device mean over 7."""
    from transferlab.batches import EvenBatches

    x, y = np.arange(39, dtype="float32")[:, None], np.arange(39) % 2
    batches = EvenBatches(x, y, batch_size=32, seed=None, replicas=2, class_weight={0: 1.0, 1: 3.0})
    xb, yb, w = batches[1]
    assert xb[:, 0].tolist() == [*range(32, 39), 32] and w[-1] == 0
    np.testing.assert_allclose(w[:7] * 7 / 8, np.where(y[32:] == 1, 3.0, 1.0))
    losses = np.linspace(0.1, 0.7, 7)
    assert np.sum(w * np.append(losses, 9.0)) / 8 == pytest.approx(np.sum(w[:7] * 7 / 8 * losses) / 7)
    assert len(batches[0][0]) == 32 and batches[0][2].tolist() == np.where(y[:32] == 1, 3.0, 1.0).tolist()


def test_the_processes_of_a_multi_worker_job_feed_disjoint_shares_of_each_batch():
    """Two processes' shards of each (padded) batch: equal halves that together are the batch."""
    from transferlab.batches import EvenBatches

    x, y = np.arange(39, dtype="float32")[:, None], np.arange(39) % 2
    whole = EvenBatches(x, y, 32, seed=3, replicas=2)
    shards = [EvenBatches(x, y, 32, seed=3, replicas=2, shard=(index, 2)) for index in (0, 1)]
    for batch in (0, 1):
        parts = [shard[batch] for shard in shards]
        assert len(parts[0][0]) == len(parts[1][0]) == len(whole[batch][0]) // 2
        rows = sorted(np.concatenate([part[0][:, 0] for part in parts]).tolist())
        assert rows == sorted(whole[batch][0][:, 0].tolist())
        assert sorted(np.concatenate([part[2] for part in parts]).tolist()) == sorted(whole[batch][2].tolist())
