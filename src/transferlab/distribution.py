"""trainer.distribute: the devices a job trains on, and the scope its models are built and trained in.

JAX uses Keras 3's own API (keras.distribution.DataParallel, over several processes for
multi_worker). On TensorFlow, Keras 3 trains with a tf.distribute strategy instead
(MirroredStrategy), so TensorFlow's classes appear in this module's TensorFlow branch and nowhere
else. README: 'Data-parallel training'.
"""

import contextlib
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass

import keras

from transferlab.errors import ConfigError


# multi_worker (JAX): the cluster each process joins, read by keras.distribution.initialize.
CLUSTER_VARIABLES = (
    "KERAS_DISTRIBUTION_JOB_ADDRESSES",
    "KERAS_DISTRIBUTION_NUM_PROCESSES",
    "KERAS_DISTRIBUTION_PROCESS_ID",
)

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Distribution:
    """trainer.distribute as set up: the devices (of every process, for multi_worker), the
    replicas each batch is split across, and the scope models are built and trained in."""

    kind: str
    devices: tuple[str, ...]
    replicas: int = 1
    scope: Callable[[], contextlib.AbstractContextManager] = contextlib.nullcontext


def start_distribution(kind: str, cpu_devices: int) -> Distribution:
    """Call before the backend starts (configure_keras): split the CPU into `cpu_devices` devices,
    join the cluster (multi_worker) and make the distribution."""
    backend = keras.backend.backend()
    split_cpu(cpu_devices, backend)
    if kind == "none":
        return Distribution(kind, tuple(keras.distribution.list_devices()[:1]))
    if kind == "multi_worker":
        return multi_worker_distribution()
    return tensorflow_distribution(kind) if backend == "tensorflow" else jax_distribution(kind)


def split_cpu(count: int, backend: str) -> None:
    """trainer.cpu_devices: the host CPU as `count` devices (1: as it is), to try data_parallel
    without several accelerators: XLA's host device count on JAX, logical devices on TensorFlow."""
    if count == 1:
        return
    if backend == "jax":
        flag = f"--xla_force_host_platform_device_count={count}"
        if flag not in os.environ.get("XLA_FLAGS", ""):
            os.environ["XLA_FLAGS"] = f"{os.environ.get('XLA_FLAGS', '')} {flag}".strip()
        return
    import tensorflow as tf

    cpu = tf.config.list_physical_devices("CPU")[0]
    if len(tf.config.get_logical_device_configuration(cpu) or [None]) != count:
        tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * count)


def multi_worker_distribution() -> Distribution:
    """JAX: join the cluster from KERAS_DISTRIBUTION_*, then DataParallel over every process's
    devices, each process feeding its own share of each batch (EvenBatches' shard)."""
    missing = [name for name in CLUSTER_VARIABLES if not os.environ.get(name)]
    if missing:
        raise ConfigError(
            "trainer.distribute",
            "multi_worker",
            f"needs the cluster in the environment: {', '.join(missing)} not set "
            "(README: 'Data-parallel training'); on one machine use data_parallel",
        )
    keras.distribution.initialize()
    devices = keras.distribution.list_devices()
    parallel = keras.distribution.DataParallel(devices=devices, auto_shard_dataset=False)  # we shard
    return Distribution("multi_worker", tuple(devices), len(devices), parallel.scope)


def one_device_left(kind: str, devices: list[str]) -> bool:
    """data_parallel with a single visible device: warn; the job trains on that device alone."""
    if kind == "data_parallel" and len(devices) == 1:
        logger.warning(
            "trainer.distribute=data_parallel: only one device (%s) is visible; training on it alone", devices[0]
        )
        return True
    return False


def jax_distribution(kind: str) -> Distribution:
    """keras.distribution.DataParallel over every device of this machine."""
    devices = keras.distribution.list_devices()
    if one_device_left(kind, devices):
        return Distribution(kind, tuple(devices))
    return Distribution(kind, tuple(devices), len(devices), keras.distribution.DataParallel(devices=devices).scope)


def tensorflow_distribution(kind: str) -> Distribution:
    """MirroredStrategy over this machine's devices."""
    import tensorflow as tf

    devices = keras.distribution.list_devices()
    if one_device_left(kind, devices):
        return Distribution(kind, tuple(devices))
    strategy = tf.distribute.MirroredStrategy(devices)
    return Distribution(kind, tuple(devices), strategy.num_replicas_in_sync, strategy.scope)


def active_replicas() -> int:
    """How many devices the distribution active here (a Distribution's scope) splits each batch
    across; 1 outside one."""
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        return tf.distribute.get_strategy().num_replicas_in_sync
    active = keras.distribution.distribution()
    return 1 if active is None else int(active.device_mesh.devices.size)


def process_shard() -> tuple[int, int]:
    """(this process's index, the process count) of the job: which share of each batch this
    process feeds, and whether it logs (process 0; multi_worker); (0, 1) when the job is one process."""
    if keras.backend.backend() != "jax":
        return 0, 1
    import jax

    return jax.process_index(), jax.process_count()
