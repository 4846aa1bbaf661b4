"""Hand-made job runs (with a stage run and its per-epoch curve) in a test's MLflow store, for reports."""

from mlflow import MlflowClient
from mlflow.entities import Metric, Param


def log_job(
    client: MlflowClient,
    experiment_id: str,
    params: dict[str, str],
    metrics: dict[str, float],
    tags: dict[str, str],
    curve: list[float] | None = None,
    start_time: int | None = None,
) -> str:
    """A FINISHED job run and, with `curve`, a FINISHED stage run under it logging val_loss per epoch."""
    run = client.create_run(experiment_id, start_time=start_time, tags=tags)
    client.log_batch(
        run.info.run_id,
        metrics=[Metric(key, value, 0, 0) for key, value in metrics.items()],
        params=[Param(key, str(value)) for key, value in params.items()],
    )
    if curve is not None:
        stage = client.create_run(
            experiment_id, tags={"mlflow.parentRunId": run.info.run_id, "stage": "train"}, start_time=start_time
        )
        points = [Metric("val_loss", value, 0, epoch) for epoch, value in enumerate(curve)]
        client.log_batch(stage.info.run_id, metrics=points)
        client.set_terminated(stage.info.run_id, "FINISHED")
    client.set_terminated(run.info.run_id, "FINISHED")
    return run.info.run_id
