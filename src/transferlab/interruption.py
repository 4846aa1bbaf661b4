"""SIGTERM and SIGINT during a job: raised as JobInterrupted so every MLflow run ends KILLED.

Python turns SIGINT into KeyboardInterrupt and lets SIGTERM kill the process on the spot (no
`finally`, no atexit: runs stay RUNNING). Both become one exception here, a BaseException so that
Hydra's and our `except Exception` error reporting leave it alone.
"""

import signal
from contextlib import contextmanager


class JobInterrupted(BaseException):
    """The job received `signum`; `exit_code` is the shell's convention (130 SIGINT, 143 SIGTERM)."""

    def __init__(self, signum: int):
        self.signum = signum
        self.run_id: str | None = None  # the job run it ended KILLED, once one had started
        self.position = "before training"  # e.g. "at stage train, epoch 3"
        super().__init__(signal.Signals(signum).name)

    def message(self, command: list[str]) -> str:
        """The console line: what ended where, and the command that continues it."""
        if self.run_id is None:
            return f"interrupted ({self}) before any MLflow run started"
        again = " ".join([*(arg for arg in command if not arg.startswith("resume=")), f"resume={self.run_id}"])
        return f"interrupted: run {self.run_id} KILLED {self.position}; resume with: {again}"

    @property
    def exit_code(self) -> int:
        return 128 + self.signum


class SignalGate:
    """Raises JobInterrupted from the signal handler, except inside `deferred()`, whose block ends
    first (a checkpoint is never left half-written); the signal is raised when the block exits."""

    def __init__(self):
        self.deferring = False
        self.pending: int | None = None

    def handle(self, signum, frame):
        if self.deferring:
            self.pending = signum
            return
        raise JobInterrupted(signum)

    @contextmanager
    def deferred(self):
        outer, self.deferring = self.deferring, True
        try:
            yield
        finally:
            self.deferring = outer
        if not outer and self.pending is not None:
            signum, self.pending = self.pending, None
            raise JobInterrupted(signum)


GATE = SignalGate()


@contextmanager
def interruptible():
    """SIGTERM and SIGINT raise JobInterrupted inside the block (main thread only); the previous
    handlers come back afterwards."""
    previous = {signum: signal.signal(signum, GATE.handle) for signum in (signal.SIGTERM, signal.SIGINT)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)
