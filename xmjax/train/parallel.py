"""Data parallelism with `jax.jit` and shardings over a device mesh.

State is replicated over the mesh; each step's batch rows are sharded along
the mesh's `data` axis, and XLA (GSPMD) partitions the step and reduces the
gradients across devices. The data set itself stays replicated on device and
each step gathers its rows inside the jitted program, so nothing per-example
crosses from the host but the row indices.
"""

from __future__ import annotations

import jax
import ml_collections
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from xmjax.errors import InputError

DATA_AXIS = "data"


def mesh_config(**overrides) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict(dict(
      data=0))  # devices on the data axis; 0 = every local device
  config.update(overrides)
  return config


def make_mesh(config: ml_collections.ConfigDict, batch_size: int | None = None) -> Mesh:
  """A 1-D mesh over `config.mesh.data` devices (0 = all), axis "data"."""
  available = jax.local_device_count()
  count = config.mesh.data or available
  if not 1 <= count <= available:
    raise InputError(f"config.mesh.data: {count} devices asked for, {available} available")
  if batch_size is not None and batch_size % count:
    raise InputError(f"config.mesh.data: the batch of {batch_size} does not split over "
                     f"{count} devices; choose a batch size divisible by {count}")
  # Auto axes: GSPMD propagates the batch sharding through the step (gathers,
  # pair matrices) and inserts the gradient all-reduce.
  return jax.make_mesh((count,), (DATA_AXIS,), devices=jax.local_devices()[:count],
                       axis_types=(AxisType.Auto,))


def replicate(tree, mesh: Mesh):
  """Places every array of `tree` whole on every device of the mesh."""
  return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def shard_rows(rows: np.ndarray, mesh: Mesh) -> jax.Array:
  """Places a batch's row indices split along the data axis."""
  return jax.device_put(np.asarray(rows), NamedSharding(mesh, PartitionSpec(DATA_AXIS)))


def shard_rows_tree(tree, mesh: Mesh):
  """Places every array of `tree` split along its leading (batch) axis."""
  return jax.device_put(tree, NamedSharding(mesh, PartitionSpec(DATA_AXIS)))
