"""What a job prints: our own log lines, short, and library chatter only when asked for.

Hydra sets up Python logging for every job from conf/hydra/job_logging/transferlab.yaml: records
of the `transferlab.*` loggers (stage starts, data sizes, where the MLflow run lives, per-epoch
progress when stderr is not a terminal) go to the console (stderr, `HH:MM:SS message`) and to the
job's log file (`<output dir>/cli.log`, with logger names and levels). Other libraries' records
(MLflow, alembic, absl, Python warnings) go to the file only, errors excepted, unless
`trainer.verbose` is 1 or more; `setup` applies that setting. No Keras import here: the CLI calls
this before the backend is chosen.
"""

import logging
import os
import sys
import tempfile
from contextlib import contextmanager

OUR_LOGGERS = "transferlab"
# trainer.verbose >= 1 lets other libraries' records reach the console (setup sets it).
show_library_lines = False


class LibraryLines(logging.Filter):
    """Console filter: our records, and other libraries' only when verbose or at ERROR and above."""

    def filter(self, record: logging.LogRecord) -> bool:
        ours = record.name == OUR_LOGGERS or record.name.startswith(OUR_LOGGERS + ".")
        return ours or show_library_lines or record.levelno >= logging.ERROR


class ConsoleFormatter(logging.Formatter):
    """`09:41:02 message` for our INFO lines; level and logger name for anything else."""

    def __init__(self):
        super().__init__(datefmt="%H:%M:%S")

    def format(self, record: logging.LogRecord) -> str:
        ours = record.name.startswith(OUR_LOGGERS) and record.levelno == logging.INFO
        self._style._fmt = "%(asctime)s %(message)s" if ours else "%(asctime)s %(levelname)s %(name)s: %(message)s"
        return super().format(record)


def prepare() -> None:
    """Before MLflow is imported: let its records go through Python logging (our handlers) instead
    of the stderr handler it installs on import, and keep its run links off stdout."""
    os.environ.setdefault("MLFLOW_CONFIGURE_LOGGING", "false")
    # MLflow prints "View run ... at: <tracking URI>" when a run on a server ends, password included;
    # our own run line shows the link with the password redacted.
    os.environ.setdefault("MLFLOW_SUPPRESS_PRINTING_URL_TO_STDOUT", "true")


def setup(verbose: int) -> None:
    """Apply trainer.verbose: 0 = our lines only; >= 1 = library log lines and Python warnings on
    the console too."""
    global show_library_lines
    show_library_lines = bool(verbose)
    logging.captureWarnings(True)  # warnings become py.warnings records: in the log file, filtered on the console
    mlflow_logger = logging.getLogger("mlflow")
    for handler in [
        h
        for h in mlflow_logger.handlers
        if getattr(h, "stream", None) is not None and "MlflowLoggingStream" in type(h.stream).__name__
    ]:
        mlflow_logger.removeHandler(handler)  # MLflow imported before prepare() (tests): same routing
    mlflow_logger.propagate = True


def import_backend(verbose: int, backend: str) -> None:
    """Import TensorFlow with its start-up banner (oneDNN / absl lines from C++) hidden unless
    trainer.verbose >= 1. Call after the backend is selected."""
    if backend == "tensorflow" and "tensorflow" not in sys.modules and not verbose:
        with native_stderr_silenced():
            import tensorflow  # noqa: F401


@contextmanager
def native_stderr_silenced():
    """File descriptor 2 goes to a scratch file meanwhile: C++ libraries write there directly,
    past Python's sys.stderr (TensorFlow 2.21's oneDNN and absl banner ignores
    TF_CPP_MIN_LOG_LEVEL). On an exception what was written is shown after all."""
    sys.stderr.flush()
    saved = os.dup(2)
    with tempfile.TemporaryFile() as sink:
        os.dup2(sink.fileno(), 2)
        try:
            yield
        except BaseException:
            os.dup2(saved, 2)
            sink.seek(0)
            sys.stderr.write(sink.read().decode(errors="replace"))
            raise
        finally:
            os.dup2(saved, 2)
            os.close(saved)
