"""Interrupted runs end KILLED and resume where they stopped; NaN losses and dead processes end runs too.

The signals are real: `python run.py` runs in a subprocess and gets SIGTERM / SIGINT / SIGKILL after
its console shows a given epoch.
"""

import os
import signal
import subprocess
import sys

import numpy as np
import pytest
from conftest import FAST, REPO_ROOT, all_runs, child_runs, mlflow_client, parent_runs, store_overrides, subprocess_env

from transferlab.batches import ArrayBatches
from transferlab.errors import ConfigError
from transferlab.interruption import GATE, JobInterrupted, interruptible

# A checkpoint after every epoch: the signal comes a few epochs into a stage of short epochs.
STAGE_EPOCHS = (
    "trainer.epochs=8",
    "explainer=none",
    "tracking.log_model=false",
    "trainer.callbacks.checkpoint.min_interval_s=0",
)


def run_until(tmp, trigger: str, signum: int, *overrides: str) -> subprocess.CompletedProcess:
    """`python run.py OVERRIDES`, sent `signum` once a console line contains `trigger`."""
    command = [sys.executable, "run.py", *overrides, *store_overrides(tmp)]
    process = subprocess.Popen(
        command, cwd=REPO_ROOT, env=subprocess_env("tensorflow", tmp), stderr=subprocess.PIPE, text=True
    )
    seen = []
    for line in process.stderr:
        seen.append(line)
        if trigger in line:
            process.send_signal(signum)
            break
    rest = process.stderr.read()
    process.wait(timeout=300)
    return subprocess.CompletedProcess(command, process.returncode, "", "".join(seen) + rest)


def run_to_end(tmp, *overrides: str) -> subprocess.CompletedProcess:
    command = [sys.executable, "run.py", *overrides, *store_overrides(tmp)]
    done = subprocess.run(
        command, cwd=REPO_ROOT, env=subprocess_env("tensorflow", tmp), capture_output=True, text=True, timeout=420
    )
    assert done.returncode == 0, done.stderr[-3000:]
    return done


def test_split_metrics(run) -> dict[str, float]:
    return {k: v for k, v in run.data.metrics.items() if k.startswith("test_")}


test_split_metrics.__test__ = False  # a helper named after the test split, not a test


@pytest.mark.slow
@pytest.mark.parametrize(
    ("label", "overrides", "trigger"),
    [
        ("one stage, batches", ("trainer.feed=batches",), "train epoch 3/"),
        (
            "third of three stages, arrays",
            ("dataset=pima", "model=autoencoder", "strategy=finetune"),
            "finetune epoch 3/",
        ),
    ],
)
def test_sigterm_then_resume_gives_the_uninterrupted_metrics(tmp_path, label, overrides, trigger):
    interrupted = run_until(tmp_path, trigger, signal.SIGTERM, *STAGE_EPOCHS, *overrides)
    assert interrupted.returncode == 143, interrupted.stderr[-3000:]
    line = [text for text in interrupted.stderr.splitlines() if text.startswith("interrupted:")]
    assert len(line) == 1 and "Traceback" not in interrupted.stderr, interrupted.stderr[-3000:]
    (job,) = parent_runs(tmp_path)
    assert job.info.status == "KILLED" and job.info.end_time is not None
    assert f"run {job.info.run_id} KILLED at stage" in line[0] and f"resume={job.info.run_id}" in line[0]
    stage = child_runs(tmp_path, job)[0]  # newest first: the interrupted stage
    assert stage.info.status == "KILLED"
    kept = mlflow_client(tmp_path).get_metric_history(stage.info.run_id, "val_loss")
    assert len(kept) >= 2, "the epochs before the signal keep their metrics"

    resumed = run_to_end(tmp_path, *STAGE_EPOCHS, *overrides, f"resume={job.info.run_id}")
    assert f"run {job.info.run_id} " in resumed.stdout, "resume continues the same MLflow run"
    run_to_end(tmp_path, *STAGE_EPOCHS, *overrides)  # the same job, uninterrupted
    runs = {run.info.run_id: run for run in parent_runs(tmp_path)}
    assert len(runs) == 2
    again = runs.pop(job.info.run_id)
    (fresh,) = runs.values()
    assert again.info.status == "FINISHED" and "interrupted" not in again.data.tags
    assert test_split_metrics(again) == pytest.approx(test_split_metrics(fresh), abs=1e-6), label
    client = mlflow_client(tmp_path)
    resumed_steps = {m.step for m in client.get_metric_history(stage.info.run_id, "val_loss")}
    fresh_steps = {m.step for m in client.get_metric_history(child_runs(tmp_path, fresh)[0].info.run_id, "val_loss")}
    # Epochs trained after the last checkpoint are trained again, so their step can appear twice.
    assert resumed_steps == fresh_steps, "the resumed stage run holds every epoch"


@pytest.mark.slow
def test_sigint_ends_the_runs_killed_with_exit_130(tmp_path):
    done = run_until(tmp_path, "train epoch 2/", signal.SIGINT, *STAGE_EPOCHS)
    assert done.returncode == 130, done.stderr[-3000:]
    assert "Traceback" not in done.stderr and "KeyboardInterrupt" not in done.stderr
    assert {run.info.status for run in all_runs(tmp_path)} == {"KILLED"}


@pytest.mark.slow
def test_runs_of_a_killed_process_are_ended_by_the_next_job(tmp_path):
    done = run_until(tmp_path, "train epoch 2/", signal.SIGKILL, *STAGE_EPOCHS)
    assert done.returncode == -signal.SIGKILL
    assert {run.info.status for run in all_runs(tmp_path)} == {"RUNNING"}
    run_to_end(tmp_path, *FAST, "explainer=none")
    statuses = sorted((run.data.tags.get("stage", "job"), run.info.status) for run in all_runs(tmp_path))
    assert statuses == [("job", "FINISHED"), ("job", "KILLED"), ("train", "FINISHED"), ("train", "KILLED")]
    killed = [run for run in all_runs(tmp_path) if run.info.status == "KILLED"]
    assert all("ended without closing the run" in run.data.tags["interrupted"] for run in killed)


def test_a_nan_loss_fails_the_run_with_one_line(tmp_path, compose, run_job):
    cfg = compose(*FAST, "explainer=none", "trainer.learning_rate=1e12")
    expected = r"trainer.learning_rate \(stage train\)=1e\+12: the loss became nan at epoch 1"
    with pytest.raises(ConfigError, match=expected):
        run_job(cfg)
    assert {run.info.status for run in all_runs(tmp_path)} == {"FAILED"}


@pytest.mark.parametrize(
    ("resume", "expected"),
    [
        ("0123456789abcdef0123456789abcdef", "no such MLflow run"),
        ("last", "no interrupted or failed job run in this experiment"),
    ],
)
def test_resume_of_a_run_that_cannot_continue_is_one_line(tmp_path, resume, expected):
    from conftest import rejection

    assert expected in rejection(tmp_path, *FAST, f"resume={resume}")


@pytest.mark.slow
def test_resume_refuses_a_finished_run_and_another_config(tmp_path, compose, run_job):
    from conftest import rejection

    run_job(compose(*FAST, "explainer=none"))
    (finished,) = parent_runs(tmp_path)
    assert "is FINISHED; only KILLED or FAILED" in rejection(tmp_path, *FAST, f"resume={finished.info.run_id}")
    client = mlflow_client(tmp_path)
    client.set_terminated(finished.info.run_id, "KILLED")
    checkpoints = tmp_path / "checkpoints"
    checkpoints.mkdir()
    client.set_tag(finished.info.run_id, "transferlab.checkpoint_dir", str(checkpoints))
    line = rejection(tmp_path, *FAST, "explainer=none", "trainer.seed=7", f"resume={finished.info.run_id}")
    assert "was run with trainer.seed=42, this command has trainer.seed=7" in line


def test_a_signal_inside_a_checkpoint_write_waits_for_its_end():
    steps = []
    with pytest.raises(JobInterrupted) as caught, interruptible():
        with GATE.deferred():
            os.kill(os.getpid(), signal.SIGTERM)
            steps.append("written")
        steps.append("after")
    assert steps == ["written"] and caught.value.exit_code == 143


def test_batches_of_a_resumed_stage_continue_the_row_order():
    x, y = np.arange(40, dtype="float32").reshape(20, 2), np.arange(20)
    uninterrupted = ArrayBatches(x, y, batch_size=5, seed=3)
    for _ in range(3):
        uninterrupted.on_epoch_end()
    resumed = ArrayBatches(x, y, batch_size=5, seed=3, start_epoch=3)
    for index in range(len(resumed)):
        np.testing.assert_array_equal(resumed[index][1], uninterrupted[index][1])
