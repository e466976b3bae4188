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

REDUCTIONS = ("mean", "sum", "max")

# ((num_nodes, out_degree), ...): consecutive node blocks covering all nodes in
# order; edges are sorted by sender and block b's nodes send exactly
# out_degree edges each (0 allowed).
SenderLayout = Sequence[tuple[int, int]]


def _sent_reduce(edges, senders, num_nodes, layout, reduction):
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


def aggregate_edges(edges: jax.Array, senders: jax.Array, receivers: jax.Array,
                    num_nodes: int, reduction: str = "mean",
                    sender_layout: SenderLayout | None = None) -> jax.Array:
  """Reduces each node's incident edges (sent and received) to one vector.

  Args:
    edges: (E, F) edge features.
    senders, receivers: (E,) int node indices.
    num_nodes: N (static).
    reduction: "mean" (default), "sum" or "max". Nodes without edges get 0.
    sender_layout: optional fixed out-degree layout (see module docstring).

  Returns:
    (N, F) float32.
  """
  if reduction not in REDUCTIONS:
    raise ValueError(f"aggregation: unknown reduction {reduction!r}; choose one of {REDUCTIONS}")
  edges = edges.astype(jnp.float32)
  sent = _sent_reduce(edges, senders, num_nodes, sender_layout, reduction)
  if reduction == "max":
    received = jax.ops.segment_max(edges, receivers, num_nodes)
    out = jnp.maximum(sent, received)
    return jnp.where(jnp.isfinite(out), out, 0.0)
  received = jax.ops.segment_sum(edges, receivers, num_nodes)
  total = sent + received
  if reduction == "sum":
    return total
  count = _sent_count(senders, num_nodes, sender_layout) + jax.ops.segment_sum(
      jnp.ones(receivers.shape, jnp.float32), receivers, num_nodes)
  return total / jnp.maximum(count, 1.0)[:, None]
