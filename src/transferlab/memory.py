"""Resident memory of this process, which every run logs so data-size regressions show up in MLflow."""

import ctypes
import gc
import os
import resource
import sys
from contextlib import contextmanager


def rss_mb() -> float:
    """Current resident set size (Linux /proc; the peak so far elsewhere)."""
    try:
        with open("/proc/self/statm") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20
    except OSError:
        return peak_rss_mb()


def peak_rss_mb() -> float:
    """Peak resident set size of the process so far (ru_maxrss: KiB on Linux, bytes on macOS)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10


def memory_metrics(start_mb: float) -> dict[str, float]:
    """RSS when the job started (after imports), the process peak since, and their difference.
    In a multirun the peak can come from an earlier job of the same process."""
    peak = peak_rss_mb()
    return {"memory_start_mb": start_mb, "memory_peak_mb": peak, "memory_peak_growth_mb": max(peak - start_mb, 0.0)}


def release_free_memory() -> None:
    """Drop the backend's compiled functions, collect garbage and return free heap pages to the OS.

    Called between a run's steps (after loading, after each training stage, after evaluation),
    so that what a finished step left behind does not stack under the next step's peak.
    """
    drop_compiled_functions()
    gc.collect()
    trim_c_heap()


def drop_compiled_functions() -> None:
    """JAX keeps every function it compiled (a finished stage's train and test steps) for the life
    of the process, and Keras has no call that releases them; `jax.clear_caches` does. Later steps
    recompile what they use (measurements: benchmarks/README.md, 'Why the code is shaped this way').
    TensorFlow's traced functions go with their model, so nothing to do there (nor before Keras
    is imported: job_inputs.py loads the data first)."""
    if "keras" not in sys.modules:
        return
    import keras

    if keras.backend.backend() == "jax":
        import jax

        jax.clear_caches()


def trim_c_heap() -> None:
    """Hand the C heap's free pages back to the OS.

    glibc keeps memory freed by a finished stage (XLA/TensorFlow compilation buffers, batch copies)
    in its arenas, so each later stage starts higher and the run's peak grows stage by stage.
    `malloc_trim` returns those pages; Python has no wrapper for it (hence ctypes), and on other C
    libraries this does nothing.
    """
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def custom_gradient_names() -> set[str]:
    """The `tf.custom_gradient` entries of TensorFlow's gradient registry (none before TensorFlow is imported)."""
    if "tensorflow" not in sys.modules:
        return set()
    from tensorflow.python.framework import ops

    return {name for name in ops.gradient_registry.list() if name.startswith("CustomGradient-")}


@contextmanager
def custom_gradients_dropped():
    """Unregister the custom gradients TensorFlow registered inside the block, once it ends: each entry
    keeps its traced graph alive for good, e.g. every training step Keras traces (its optimizer sums
    the gradients through one; tensorflow/tensorflow#97697). TensorFlow has no call for it, hence
    the private dict (measurements: benchmarks/README.md, 'Why the code is shaped this way')."""
    before = custom_gradient_names()
    try:
        yield
    finally:
        added = custom_gradient_names() - before
        if added:
            from tensorflow.python.framework import ops

            for name in added:
                del ops.gradient_registry._registry[name]
