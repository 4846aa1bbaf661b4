"""Hand-made job runs (with stage runs and their per-epoch curves) in a test's MLflow store, for reports."""

from mlflow import MlflowClient
from mlflow.entities import Metric, Param


def log_job(
    client: MlflowClient,
    experiment_id: str,
    params: dict[str, str],
    metrics: dict[str, float],
    tags: dict[str, str],
    stages: dict[str, list[float]] | None = None,
    start_time: int = 0,
) -> str:
    """A FINISHED job run and, per entry of `stages` (in order, one second apart), a FINISHED stage run
    under it logging its curve as val_loss per epoch."""
    run = client.create_run(experiment_id, start_time=start_time, tags=tags)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(key, value, 0, 0) for key, value in metrics.items()],
        params=[Param(key, str(value)) for key, value in params.items()],
    )
    for order, (stage_name, curve) in enumerate((stages or {}).items()):
        stage = client.create_run(
            experiment_id,
            tags={"mlflow.parentRunId": run.info.run_id, "stage": stage_name},
            start_time=start_time + 1000 * (order + 1),
        )
        client.log_batch(stage.info.run_id, metrics=[Metric("val_loss", v, 0, epoch) for epoch, v in enumerate(curve)])
        client.set_terminated(stage.info.run_id, "FINISHED")
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id
