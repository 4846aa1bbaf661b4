"""A Hydra callback for sweep_memory.py: after each job of a sweep, in the process that ran it,
append the process's resident memory and the number of objects Python's collector tracks to a file.

    +hydra.callbacks.rss._target_=_rss_callback.RssAfterEachJob +hydra.callbacks.rss.path=<file>
"""

import gc
import json
from typing import Any

from hydra.experimental.callback import Callback

from transferlab.memory import rss_mb


class RssAfterEachJob(Callback):
    """One JSON line per finished job: job number, RSS in MB, tracked Python objects."""

    def __init__(self, path: str) -> None:
        self.path = path

    def on_job_end(self, config, job_return: Any, **kwargs: Any) -> None:
        line = {"job": config.hydra.job.num, "rss_mb": rss_mb(), "objects": len(gc.get_objects())}
        with open(self.path, "a") as out:
            out.write(json.dumps(line) + "\n")
