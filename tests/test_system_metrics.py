"""tracking.system_metrics: MLflow's own system metrics (system/*) in the job run, only when asked."""

from conftest import FAST, parent_runs

JOB = (*FAST, "explainer=none")
SAMPLED = {"system/cpu_utilization_percentage", "system/system_memory_usage_megabytes"}


def system_metrics(run) -> set[str]:
    return {key for key in run.data.metrics if key.startswith("system/")}


def test_system_metrics_only_when_asked(compose, run_job, tmp_path):
    """A real job with tracking.system_metrics=true sampled every second logs CPU and memory
    utilisation into its run; a job with the defaults logs no system/* metric."""
    run_job(compose(*JOB, "tracking.system_metrics=true", "tracking.system_metrics_interval_s=1"))
    (sampled,) = parent_runs(tmp_path)
    assert SAMPLED <= system_metrics(sampled), sorted(sampled.data.metrics)

    run_job(compose(*JOB, "trainer.seed=1"))
    (plain,) = [run for run in parent_runs(tmp_path) if run.info.run_id != sampled.info.run_id]
    assert system_metrics(plain) == set(), sorted(plain.data.metrics)
    assert {sampled.info.status, plain.info.status} == {"FINISHED"}
