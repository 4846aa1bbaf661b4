"""Process-wide settings that must be fixed before or right after Keras is imported."""

import os
import sys

from transferlab.errors import ConfigError, make_folder

BACKENDS = ("tensorflow", "jax")
PRECISIONS = ("float32", "mixed_float16", "mixed_bfloat16")
DEVICES = ("auto", "cpu", "gpu")
DISTRIBUTE = ("none", "data_parallel", "multi_worker")  # trainer.distribute: see distribution.py
# Bounded so the cache cannot grow without limit, and because JAX only takes its file lock (which
# keeps parallel sweep jobs from reading an entry another job is still writing) when bounded.
COMPILATION_CACHE_MAX_BYTES = 2**30


def select_backend(backend: str, device: str) -> None:
    """Point Keras at `backend` (and hide GPUs for device=cpu) before Keras is imported."""
    if "keras" in sys.modules:
        import keras

        if keras.backend.backend() != backend:
            raise ConfigError(
                "trainer.backend",
                backend,
                f"Keras is already running on {keras.backend.backend()} in this process; "
                f"start a new process or set KERAS_BACKEND={backend}",
            )
        return
    os.environ["KERAS_BACKEND"] = backend
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if device == "cpu":
        os.environ["CUDA_VISIBLE_DEVICES"] = ""
        os.environ["JAX_PLATFORMS"] = "cpu"


def configure_keras(device: str, precision: str) -> str:
    """Set the dtype policy, start the backend and return the device Keras will use."""
    import keras

    if keras.backend.backend() != "tensorflow":
        keep_tensorflow_unloaded()
    freeze_imported_objects()
    keras.config.set_dtype_policy(precision)
    gpus = [d for d in keras.distribution.list_devices() if d.split(":")[0].lower() in ("gpu", "cuda")]
    if device == "gpu" and not gpus:
        raise ConfigError("trainer.device", device, "no GPU is visible to Keras; use auto or cpu")
    return gpus[0] if gpus else "cpu"


def freeze_imported_objects() -> None:
    """Once per process, before a job makes its data or models: move every object alive now (the
    imported modules of TensorFlow/JAX, Keras, MLflow, scikit-learn, ...) out of the garbage
    collector's sight with `gc.freeze`. They live until the process ends anyway, and every full
    collection (release_free_memory's) walked them
    (measurements: benchmarks/README.md, 'Why the code is shaped this way'). Later jobs of a sweep
    in the same process are not frozen again, so their leftovers stay collectable."""
    import gc

    if not gc.get_freeze_count():
        gc.freeze()


def use_compilation_cache(directory: str | None) -> None:
    """JAX: keep compiled XLA programs in `directory` and reuse them in later runs (None: off).

    A repeated configuration (a rerun, a sweep's next job, the next stage after `jax.clear_caches`)
    then loads its train, test and predict steps from disk instead of compiling them again: faster,
    and a lower peak (XLA's compiler working memory is never needed); same programs, same results.
    JAX's own cache, configured here because Keras has no switch for it; its defaults store only
    slow compilations and ours are quick, hence a minimum compile time of 0. TensorFlow has no such
    cache (measurements: benchmarks/README.md, 'Why the code is shaped this way').
    """
    import keras

    if keras.backend.backend() != "jax":
        return
    import jax
    from jax.experimental.compilation_cache import compilation_cache

    wanted = None if directory is None else str(directory)
    if jax.config.jax_compilation_cache_dir == wanted:  # set by an earlier job of this process
        return
    if wanted is not None:  # JAX would create it only at the first compilation, failing mid-run
        make_folder(wanted, "trainer.compilation_cache_dir", "use a writable folder or null")
    jax.config.update("jax_compilation_cache_dir", wanted)
    jax.config.update("jax_persistent_cache_min_compile_time_secs", 0.0)
    jax.config.update("jax_persistent_cache_min_entry_size_bytes", -1)
    jax.config.update("jax_compilation_cache_max_size", COMPILATION_CACHE_MAX_BYTES)
    compilation_cache.reset_cache()  # JAX opens its cache once per process and keeps it


def keep_tensorflow_unloaded() -> None:
    """Stop Keras importing TensorFlow merely to ask whether it is installed (non-TF backends).

    Keras' lazy `tensorflow` handle imports TensorFlow on its first `.available` check, which
    set_random_seed and every get_config/serialize call (clone_model, saving) make on JAX too:
    memory and time for checks that only matter when TF objects are around
    (measurements: benchmarks/README.md, 'Why the code is shaped this way').
    Marked unavailable, those checks are skipped; code that really uses TensorFlow (tf.data) still
    imports it on first use. No public Keras switch exists, hence the private handle.
    """
    from keras.src.utils import module_utils

    handle = module_utils.tensorflow
    if "tensorflow" not in sys.modules and getattr(handle, "_available", True) is None:
        handle._available = False


def seed_everything(seed: int) -> None:
    """Python, NumPy and backend generators and Keras' global SeedGenerator."""
    import keras

    keras.utils.set_random_seed(seed)


def skip_teardown_after_success():
    """Call at the start of the command line; call what it returns once the work has succeeded.
    The process then ends with status 0 right after the atexit handlers registered meanwhile
    (MLflow's, Hydra's, ...) have run, instead of letting the interpreter finalise every module.

    That finalisation does nothing a finished job needs (no Python thread or atexit handler is
    involved) but costs seconds of native teardown
    (measurements: benchmarks/README.md, 'Why the code is shaped this way').
    On errors nothing changes: the normal exit keeps its status and messages."""
    import atexit
    import logging

    succeeded = False

    def exit_now() -> None:  # registered first, so atexit runs it last
        if succeeded:
            logging.shutdown()  # registered before us (at logging's import): flush the job's log file
            sys.stdout.flush()
            sys.stderr.flush()
            os._exit(0)

    def mark_succeeded() -> None:
        nonlocal succeeded
        succeeded = True

    atexit.register(exit_now)
    return mark_succeeded
