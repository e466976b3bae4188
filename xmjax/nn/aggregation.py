"""Non-parametric aggregation of edge features onto nodes.

`aggregate_edges` reduces over *all* incident edges of a node, those it sends
and those it receives (RR-Net's node layer, eq. 8: modality-1 nodes only
send inter edges, so a receive-only aggregation would never show them the
inter graph).

Sent edges: when the graph has a fixed out-degree layout (edges sorted by
sender, every node of a block sending the same number of edges) the sum is a
reshape + sum, with no scatter. That matters on NVIDIA GPUs with JAX 0.10.2 -
0.11.0, where a float32 scatter-add with many updates per index is very slow;
received edges (variable in-degree) still use `segment_sum`, so GPU users
want jax>=0.11.1. Accumulation is float32 whatever the compute dtype.
"""

from __future__ import annotations

from typing import Sequence

import jax
import jax.numpy as jnp
import numpy as np

REDUCTIONS = ("mean", "sum", "max")

# ((num_nodes, out_degree), ...): consecutive node blocks covering all nodes in
# order; edges are sorted by sender and block b's nodes send exactly
# out_degree edges each (0 allowed).
SenderLayout = Sequence[tuple[int, int]]


INCIDENT = ("both", "received")


def is_concrete(x) -> bool:
  """True for arrays whose values are known now (not traced under jit)."""
  return not isinstance(x, jax.core.Tracer)


def layout_senders(layout: SenderLayout) -> np.ndarray:
  """The senders array a graph with this fixed out-degree layout has."""
  degrees = np.concatenate([np.full(count, degree, np.int64) for count, degree in layout]) \
      if layout else np.zeros(0, np.int64)
  return np.repeat(np.arange(len(degrees)), degrees)


def matches_layout(senders, layout: SenderLayout) -> bool:
  expected = layout_senders(layout)
  senders = np.asarray(senders)
  return senders.shape == expected.shape and bool(np.array_equal(senders, expected))


def _layout_sizes(layout: SenderLayout) -> tuple[int, int]:
  return sum(c for c, _ in layout), sum(c * d for c, d in layout)


def first_layout_mismatch(senders, layout: SenderLayout) -> tuple[int, int, int] | None:
  """(edge, its sender, the layout's sender) of the first edge of concrete
  `senders` that breaks the layout (sizes assumed right), or None."""
  expected = layout_senders(layout)
  senders = np.asarray(senders)
  wrong = np.flatnonzero(senders != expected)
  if not wrong.size:
    return None
  i = int(wrong[0])
  return i, int(senders[i]), int(expected[i])


def check_sender_layout(senders, num_nodes: int, layout: SenderLayout) -> None:
  """Raises ValueError unless `senders` is exactly the layout's: sorted by
  sender, node blocks of the stated out-degrees. The sizes are checked
  always; the values when `senders` is concrete (traced senders are checked
  on device by `aggregate_edges`)."""
  nodes, edges = _layout_sizes(layout)
  if edges != senders.shape[0] or nodes != num_nodes:
    raise ValueError(f"sender_layout {tuple(map(tuple, layout))} describes "
                     f"{nodes} nodes and {edges} edges; the graph has "
                     f"{num_nodes} nodes and {senders.shape[0]} edges")
  mismatch = first_layout_mismatch(senders, layout) if is_concrete(senders) else None
  if mismatch:
    edge, sent_by, expected = mismatch
    raise ValueError(f"sender_layout {tuple(map(tuple, layout))} does not match the graph: "
                     f"edge {edge} is sent by node {sent_by}, the layout says {expected} "
                     "(edges must be sorted by sender with those out-degrees); pass "
                     "sender_layout=None for any graph")


def layout_matches_on_device(senders: jax.Array, layout: SenderLayout) -> jax.Array:
  """Scalar bool: `senders` is the layout's senders array. Built from iotas
  (no (E,) constant in the program): one compare and reduce over the edges."""
  parts, start = [], 0
  for count, degree in layout:
    if count and degree:
      ids = start + jax.lax.broadcasted_iota(jnp.int32, (count, degree), 0)
      parts.append(ids.reshape(-1))
    start += count
  if not parts:
    return jnp.array(True)
  return jnp.all(senders.astype(jnp.int32) == jnp.concatenate(parts))


def default_sorted_segments(platform: str | None = None) -> bool:
  """What `sorted_segments=None` means for `platform` (default: the default
  backend; a program compiled for another target names it): on for TPUs,
  whose compiler lays out the (nodes, degree, F) reshape of a narrow F
  slowly (RR-Net's CIFAR-100-scale step: 35-51 s to compile for v5e
  against 129-158 s, and a lower summed cycle estimate, at 8% more bytes
  by the cost model); off elsewhere: on a GPU the segment sum is a
  float32 scatter-add with many updates per index, slow with jax
  0.10.2-0.11.0, and on a CPU the two are level (benchmarks/RESULTS.md)."""
  return (platform or jax.default_backend()) == "tpu"


def _sent_reduce(edges, senders, num_nodes, layout, reduction, sorted_segments=None):
  if sorted_segments is None:
    sorted_segments = default_sorted_segments()
  if layout is not None and sorted_segments:
    # The layout's senders are sorted (checked): a segment reduction told so.
    if reduction == "max":
      return jax.ops.segment_max(edges, senders, num_nodes, indices_are_sorted=True)
    return jax.ops.segment_sum(edges, senders, num_nodes, indices_are_sorted=True)
  if layout is None:
    if reduction == "max":
      return jax.ops.segment_max(edges, senders, num_nodes)
    return jax.ops.segment_sum(edges, senders, num_nodes)
  parts, offset = [], 0
  for count, degree in layout:
    if degree == 0:
      fill = -jnp.inf if reduction == "max" else 0.0
      parts.append(jnp.full((count, edges.shape[1]), fill, edges.dtype))
      continue
    block = edges[offset:offset + count * degree].reshape(count, degree, edges.shape[1])
    parts.append(block.max(axis=1) if reduction == "max" else block.sum(axis=1))
    offset += count * degree
  if offset != edges.shape[0] or sum(c for c, _ in layout) != num_nodes:
    raise ValueError(f"sender layout {tuple(layout)} does not cover {num_nodes} nodes "
                     f"and {edges.shape[0]} edges")
  return jnp.concatenate(parts, axis=0)


def _sent_count(senders, num_nodes, layout):
  if layout is None:
    return jax.ops.segment_sum(jnp.ones(senders.shape, jnp.float32), senders, num_nodes)
  return jnp.concatenate([jnp.full((count,), float(degree)) for count, degree in layout])


def gather_senders(values: jax.Array, senders: jax.Array,
                   sender_layout: SenderLayout | None = None) -> jax.Array:
  """Each edge's sender row, `values[senders]`: (N, F) -> (E, F).

  With a fixed out-degree layout the rows are repeated in place, with no
  gather: a broadcast per node block, whose gradient is a reshape + sum
  instead of a scatter-add (on TPU per-edge gathers and scatters, not
  FLOPs, bound RR-Net's step by the compiler's cost model). Same values as
  the gather; the gradient sums each node's edges in another order, so it
  equals the scatter's within float round-off. The layout is checked
  like `aggregate_edges`'s: at trace time against concrete `senders`
  (ValueError), on device against traced ones (every row NaN if wrong).
  """
  if sender_layout is None:
    return values[senders]
  check_sender_layout(senders, values.shape[0], sender_layout)
  parts, start = [], 0
  for count, degree in sender_layout:
    if count and degree:
      block = values[start:start + count]
      parts.append(jnp.broadcast_to(block[:, None], (count, degree, *values.shape[1:]))
                   .reshape(count * degree, *values.shape[1:]))
    start += count
  out = jnp.concatenate(parts, axis=0) if parts else values[:0]
  if not is_concrete(senders):
    out = jnp.where(layout_matches_on_device(senders, sender_layout), out, jnp.nan)
  return out


def aggregate_edges(edges: jax.Array, senders: jax.Array, receivers: jax.Array,
                    num_nodes: int, reduction: str = "mean",
                    sender_layout: SenderLayout | None = None,
                    incident: str = "both", sorted_segments: bool | None = None) -> jax.Array:
  """Reduces each node's incident edges to one vector.

  Args:
    edges: (E, F) edge features.
    senders, receivers: (E,) int node indices.
    num_nodes: N (static).
    reduction: "mean" (default), "sum" or "max". Nodes without edges get 0.
    sender_layout: optional fixed out-degree layout (see module docstring).
      Its sizes are checked at trace time and its values against concrete
      `senders` (ValueError if they do not match). Traced `senders` (under
      jit) are checked on device: if they do not match, every output is
      NaN, so a wrong layout can never give a plausible wrong answer (the
      check is one compare over the edges).
    incident: "both" (RR-Net eq. 8: sent and received edges) or "received"
      (jraph's convention: messages flow sender -> receiver).
    sorted_segments: with a `sender_layout`, reduce the sent edges by a
      segment sum told that its indices are sorted (True) or by reshape +
      sum (False); None (the default) picks by backend,
      `default_sorted_segments`: on for TPUs only. Same values within
      round-off; the layout is checked either way.

  Returns:
    (N, F) float32.
  """
  if reduction not in REDUCTIONS:
    raise ValueError(f"aggregation: unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
  if incident not in INCIDENT:
    raise ValueError(f"incident: unknown {incident!r}; choose one of {INCIDENT}")
  edges = edges.astype(jnp.float32)
  if incident == "received":
    if reduction == "max":
      out = jax.ops.segment_max(edges, receivers, num_nodes)
      return jnp.where(jnp.isfinite(out), out, 0.0)
    total = jax.ops.segment_sum(edges, receivers, num_nodes)
    if reduction == "sum":
      return total
    count = jax.ops.segment_sum(jnp.ones(receivers.shape, jnp.float32), receivers, num_nodes)
    return total / jnp.maximum(count, 1.0)[:, None]
  if sender_layout is not None:
    check_sender_layout(senders, num_nodes, sender_layout)
  sent = _sent_reduce(edges, senders, num_nodes, sender_layout, reduction, sorted_segments)
  if reduction == "max":
    received = jax.ops.segment_max(edges, receivers, num_nodes)
    out = jnp.maximum(sent, received)
    out = jnp.where(jnp.isfinite(out), out, 0.0)
  else:
    received = jax.ops.segment_sum(edges, receivers, num_nodes)
    out = sent + received
    if reduction == "mean":
      count = _sent_count(senders, num_nodes, sender_layout) + jax.ops.segment_sum(
          jnp.ones(receivers.shape, jnp.float32), receivers, num_nodes)
      out = out / jnp.maximum(count, 1.0)[:, None]
  if sender_layout is not None and not is_concrete(senders):
    out = jnp.where(layout_matches_on_device(senders, sender_layout), out, jnp.nan)
  return out
