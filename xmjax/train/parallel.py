"""Data parallelism with `jax.jit` and shardings over a device mesh.

State is replicated over the mesh; each step's batch rows are sharded along
the mesh's `data` axis, and XLA (GSPMD) partitions the step and reduces the
gradients across devices. The data set itself stays replicated on device and
each step gathers its rows inside the jitted program, so nothing per-example
crosses from the host but the row indices.

Multi-host: `initialize_distributed` joins the processes
(`jax.distributed.initialize`); the mesh then spans every process's devices,
every process computes the same (seeded) batch and places only the shards
of its own devices (`jax.make_array_from_callback`), and only process 0
writes logs, results and caches (orbax coordinates the checkpoint writes).
"""

from __future__ import annotations

import os

import jax
import ml_collections
import numpy as np
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from xmjax.errors import InputError

DATA_AXIS = "data"


def initialize_distributed(coordinator_address: str | None = None,
                           num_processes: int | None = None,
                           process_id: int | None = None) -> bool:
  """Joins a multi-process run when one is asked for (arguments, or the
  environment variables JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
  JAX_PROCESS_ID); returns whether it did. Call before any other JAX work."""
  address = coordinator_address or os.environ.get("JAX_COORDINATOR_ADDRESS")
  count = num_processes or int(os.environ.get("JAX_NUM_PROCESSES", "0") or 0)
  if not address or count <= 1:
    return False
  index = process_id if process_id is not None else int(os.environ.get("JAX_PROCESS_ID", "0"))
  jax.distributed.initialize(address, count, index)
  return True


def make_mesh(config: ml_collections.ConfigDict, batch_size: int | None = None) -> Mesh:
  """A 1-D mesh over `config.mesh.data` devices (0 = all), axis "data";
  over every process's devices in a multi-process run."""
  multi = jax.process_count() > 1
  available = jax.device_count() if multi else jax.local_device_count()
  count = config.mesh.data or available
  if not 1 <= count <= available:
    raise InputError(f"config.mesh.data: {count} devices asked for, {available} available")
  if batch_size is not None and batch_size % count:
    raise InputError(f"config.mesh.data: the batch of {batch_size} does not split over "
                     f"{count} devices; choose a batch size divisible by {count}")
  # Auto axes: GSPMD propagates the batch sharding through the step (gathers,
  # pair matrices) and inserts the gradient all-reduce.
  devices = jax.devices() if multi else jax.local_devices()
  return jax.make_mesh((count,), (DATA_AXIS,), devices=devices[:count],
                       axis_types=(AxisType.Auto,))


def _put(tree, sharding):
  """device_put; across processes, each process builds its own devices'
  shards from its (identical) host copy."""
  if jax.process_count() == 1:
    return jax.device_put(tree, sharding)

  def put(x):
    if isinstance(x, jax.Array) and jax.dtypes.issubdtype(x.dtype, jax.dtypes.prng_key):
      return jax.random.wrap_key_data(put(jax.random.key_data(x)),
                                      impl=jax.random.key_impl(x))
    host = np.asarray(jax.device_get(x))
    return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

  return jax.tree.map(put, tree)


def replicate(tree, mesh: Mesh):
  """Places every array of `tree` whole on every device of the mesh."""
  return _put(tree, NamedSharding(mesh, PartitionSpec()))


def to_host(x: jax.Array) -> np.ndarray:
  """The whole of `x` as a NumPy array on every process, also when it is
  sharded over other processes' devices (a row-sharded score matrix)."""
  if getattr(x, "is_fully_addressable", True):
    return np.asarray(x)
  from jax.experimental import multihost_utils
  return np.asarray(multihost_utils.process_allgather(x, tiled=True))


def shard_rows(rows: np.ndarray, mesh: Mesh) -> jax.Array:
  """Places a batch's row indices split along the data axis."""
  return _put(np.asarray(rows), NamedSharding(mesh, PartitionSpec(DATA_AXIS)))


def shard_rows_tree(tree, mesh: Mesh):
  """Places every array of `tree` split along its leading (batch) axis."""
  return _put(tree, NamedSharding(mesh, PartitionSpec(DATA_AXIS)))


def shard_graph_edges(graph, mesh: Mesh):
  """A graph (a NamedTuple naming its per-edge fields in EDGE_FIELDS, such
  as CrossModalGraph) with its edge arrays split over the mesh's data axis
  and its node arrays replicated: each device holds E / D edges, and the GCN
  step's per-node reductions (segment sums) are reduced across devices by
  XLA. Arrays whose length does not divide by the device count (a small
  label graph) stay replicated."""
  size = mesh.devices.size

  def place(x, per_edge: bool):
    spec = PartitionSpec(DATA_AXIS) if per_edge and x.shape[0] % size == 0 else PartitionSpec()
    return _put(x, NamedSharding(mesh, spec))

  return graph._replace(**{
      name: jax.tree.map(lambda x, per_edge=name in graph.EDGE_FIELDS: place(x, per_edge), value)
      for name, value in graph._asdict().items()})
