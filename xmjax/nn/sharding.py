"""Splitting a pairwise block's rows over the devices of a mesh.

The pair scorers (`RelationNetwork`, `knn_graph`) loop over tiles with
`lax.map`. GSPMD cannot split a loop over the iterated axis: under Auto
mesh axes it runs every tile on every device (N times the work), and under
Explicit axes (`jax.make_mesh`'s default since jax 0.9) the loop refuses a
sharded operand. `map_row_shards` runs the block under `jax.shard_map`
instead: each device scores its own rows against all of the other operand,
so it does 1/N of the tiles under either kind of axis.

Which axis: an explicit `row_axis` (with `mesh`, or the mesh set by
`jax.set_mesh`), else the axis the rows are sharded along when their type
says so (Explicit axes), else none (one program, as before).
"""

from __future__ import annotations

import math
from typing import Callable, NamedTuple, Optional, Union

import jax
import jax.numpy as jnp
from jax.sharding import AxisType, PartitionSpec

AxisName = Union[str, tuple]


class RowPlan(NamedTuple):
  mesh: object          # jax.sharding.Mesh or AbstractMesh
  axis: AxisName
  size: int             # devices along `axis`


def _axis_size(mesh, axis: AxisName) -> int:
  names = axis if isinstance(axis, tuple) else (axis,)
  return math.prod(mesh.shape[name] for name in names)


def _explicit(mesh, names=None) -> bool:
  """Whether any of the mesh's axes `names` (default: all) is Explicit."""
  if mesh is None or mesh.empty:
    return False
  names = mesh.axis_names if names is None else names
  return any(mesh.axis_types[mesh.axis_names.index(a)] == AxisType.Explicit for a in names)


def whole(x: jax.Array) -> jax.Array:
  """`x` replicated on every device. Under Explicit axes an operand sharded
  by rows is all-gathered (a loop over its rows cannot take it sharded);
  otherwise `x` is returned as it is (GSPMD decides)."""
  sharding = getattr(jax.typeof(x), "sharding", None)
  spec = getattr(sharding, "spec", None)
  if _explicit(getattr(sharding, "mesh", None)) and spec and any(p is not None for p in spec):
    return jax.sharding.reshard(x, PartitionSpec())
  return x


def row_plan(rows: jax.Array, row_axis: Optional[AxisName] = None, mesh=None,
             *, name: str = "rows") -> Optional[RowPlan]:
  """How to split `rows`' leading axis over devices, or None for one program.

  Args:
    rows: the operand whose leading axis is split.
    row_axis: a mesh axis name (or tuple of names); None: the axis `rows`
      is sharded along in its type (Explicit axes), if any.
    mesh: the mesh `row_axis` belongs to; None: the one from `jax.set_mesh`.
    name: what to call the owner in errors.
  """
  if row_axis is None:
    sharding = getattr(jax.typeof(rows), "sharding", None)
    spec = getattr(sharding, "spec", None)
    if not spec or spec[0] is None:
      return None
    row_axis = spec[0]
    mesh = mesh if mesh is not None else sharding.mesh
  if mesh is None:
    mesh = jax.sharding.get_abstract_mesh()
  names = row_axis if isinstance(row_axis, tuple) else (row_axis,)
  if mesh is None or mesh.empty or any(n not in mesh.axis_names for n in names):
    have = () if mesh is None or mesh.empty else tuple(mesh.axis_names)
    raise ValueError(f"{name}: row_axis={row_axis!r} is not an axis of the mesh (axes {have}); "
                     "pass mesh= or call under jax.set_mesh(mesh)")
  size = _axis_size(mesh, row_axis)
  return None if size == 1 else RowPlan(mesh, row_axis, size)


def map_row_shards(fn: Callable, rows: jax.Array, *replicated, plan: RowPlan,
                   differentiable: bool = True) -> jax.Array:
  """`fn(local_rows, row_offset, *replicated)` on each device's rows.

  `rows` is padded to a multiple of the device count (the padding's output
  rows are cut off), split along its leading axis; `replicated` operands go
  whole to every device; `row_offset` is the global index of the device's
  first row. The output is sharded by rows. Differentiable: gradients of
  the replicated operands are summed over devices. `differentiable=False`
  (integer outputs such as neighbour indices) skips shard_map's varying-
  value type check, which loops whose carry starts as a constant fail.
  """
  n = rows.shape[0]
  pad = -n % plan.size
  if pad:
    rows = jnp.pad(whole(rows), ((0, pad),) + ((0, 0),) * (rows.ndim - 1))
  local = rows.shape[0] // plan.size
  if _explicit(plan.mesh, plan.axis if isinstance(plan.axis, tuple) else (plan.axis,)):
    # Explicit axes: shard_map takes operands only as their types say.
    rows = jax.sharding.reshard(rows, PartitionSpec(plan.axis))
    replicated = tuple(jax.sharding.reshard(x, PartitionSpec()) for x in replicated)

  def per_device(local_rows, *others):
    offset = jax.lax.axis_index(plan.axis) * local
    return fn(local_rows, offset, *others)

  specs = (PartitionSpec(plan.axis),) + (PartitionSpec(),) * len(replicated)
  out = jax.shard_map(per_device, mesh=plan.mesh, in_specs=specs,
                      out_specs=PartitionSpec(plan.axis),
                      check_vma=differentiable)(rows, *replicated)
  # Rows that do not split evenly come back whole (Explicit axes cannot
  # slice a sharded axis to an uneven length).
  return whole(out)[:n] if pad else out
