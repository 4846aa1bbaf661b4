"""End runs that a dead process left RUNNING (SIGKILL, power loss): they become KILLED.

Every run carries its host and PID (tracking/runs.py: process_tags). A job looks for RUNNING runs
of its own host in the store before it starts; a run whose process no longer exists is ended
KILLED with a tag saying why. Runs of other hosts are left alone: their processes cannot be seen.
"""

import logging
import os
import socket

import mlflow
from mlflow.entities import ViewType

logger = logging.getLogger(__name__)


def process_exists(pid: int) -> bool:
    try:
        os.kill(pid, 0)  # signal 0: only asks whether the process exists
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # exists, owned by another user
    return True


def end_stale_runs() -> list[str]:
    """KILLED for every RUNNING run of this host whose process is gone; returns their ids."""
    host = socket.gethostname()
    client = mlflow.MlflowClient()
    experiments = [e.experiment_id for e in client.search_experiments(view_type=ViewType.ACTIVE_ONLY)]
    if not experiments:
        return []
    running = client.search_runs(
        experiments,
        filter_string=f"attributes.status = 'RUNNING' and tags.`transferlab.host` = '{host}'",
        max_results=1000,
    )
    ended = []
    for run in running:
        pid = int(run.data.tags.get("transferlab.pid", "0"))
        if pid <= 0 or pid == os.getpid() or process_exists(pid):
            continue
        client.set_tag(run.info.run_id, "interrupted", f"process {pid} on {host} ended without closing the run")
        client.set_terminated(run.info.run_id, status="KILLED")
        ended.append(run.info.run_id)
    if ended:
        logger.info("ended %d run(s) left RUNNING by dead processes as KILLED: %s", len(ended), ", ".join(ended))
    return ended
