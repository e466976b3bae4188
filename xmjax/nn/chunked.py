"""Per-edge blocks computed chunk by chunk, for graphs whose edge activations
do not fit: the edges are cut into `num_chunks` equal chunks, each chunk's
MLP runs under `lax.scan` with its body rematerialised, and a node layer's
reduction is accumulated in the scan's carry. Only each block's input and
output edge arrays are kept for the backward pass; every hidden per-edge
activation lives one chunk at a time.

The modules hold exactly the parameters (names and shapes) of the blocks
they replace, so the same parameters give the same numbers either way
(tests/test_rrnet_model.py):

- `chunked_mlp`: `xmjax.nn.MLP` over (E, F) edge features;
- `ChunkedInterGCNUnit`: `xmjax.nn.InterGCNUnit` (inter-edge layer, then
  the node layer over every incident edge), with mean, sum or max
  aggregation and no sender layout (any edge order).

Why not `nn.remat` on the whole unit: XLA is free to schedule a
rematerialised forward early, and on CPU it does (the compiled program's
temporary memory is the same with and without remat); a scan's iterations
are sequential in both directions, so chunking bounds memory on every backend.

Edges are padded up to a multiple of `num_chunks`; a padding edge's
endpoints are node `num_nodes` (outside the graph), so it reaches no
node's reduction, and the caller drops its outputs.
"""

from __future__ import annotations

from typing import Any, Callable, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import jraph

from xmjax.nn.gcn import EdgeConcatDense
from xmjax.nn.mlp import mlp_layers

__all__ = ["ChunkedInterGCNUnit", "chunk_edges", "chunked_mlp", "unchunk_edges"]


def chunk_edges(x: jax.Array, num_chunks: int, fill=0) -> jax.Array:
  """(E, ...) -> (num_chunks, ceil(E / num_chunks), ...), padded with `fill`."""
  size = -(-x.shape[0] // num_chunks)
  pad = num_chunks * size - x.shape[0]
  x = jnp.pad(x, ((0, pad),) + ((0, 0),) * (x.ndim - 1), constant_values=fill)
  return x.reshape((num_chunks, size) + x.shape[1:])


def unchunk_edges(x: jax.Array, num_edges: int) -> jax.Array:
  """The inverse of chunk_edges: (C, B, ...) -> (num_edges, ...)."""
  return x.reshape((-1,) + x.shape[2:])[:num_edges]


def _scan(body_cls, **lift):
  """`body_cls` scanned over its first input's leading axis, its parameters
  shared by every chunk, its body rematerialised in the backward pass."""
  return nn.scan(nn.remat(body_cls, prevent_cse=False), variable_broadcast="params",
                 split_rngs={"params": False}, **lift)


class _MLPChunk(nn.Module):
  """One chunk of an MLP (parameter names as xmjax.nn.MLP's)."""
  features: Sequence[int]
  activate_final: bool = False
  layer_norm: bool = False
  dtype: Any = None
  activate_input: bool = False
  kernel_init: Callable = nn.initializers.he_normal()
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, carry, x):
    if self.activate_input:
      x = nn.relu(x)
    return carry, mlp_layers(x, self.features, nn.relu, self.activate_final, self.layer_norm,
                             self.dtype, self.kernel_init, self.param_dtype)


def chunked_mlp(x: jax.Array, features: Sequence[int], num_chunks: int, *, name: str,
                activate_final: bool = False, layer_norm: bool = False, dtype: Any = None,
                activate_input: bool = False, param_dtype: Any = jnp.float32) -> jax.Array:
  """`xmjax.nn.MLP(features, name=name)` (ReLU) on (E, F) edges, `num_chunks`
  chunks at a time; call it inside a compact module's `__call__` (the
  parameters go to that module, under `name`, as the MLP's would).
  `activate_input` applies a ReLU to the input first (inside the chunk, so
  the activated copy is never stored whole)."""
  body = _scan(_MLPChunk)(features, activate_final, layer_norm, dtype, activate_input,
                          param_dtype=param_dtype, name=name)
  _, out = body(None, chunk_edges(x, num_chunks))
  return unchunk_edges(out, x.shape[0])


class _InterEdgeChunk(nn.Module):
  """One chunk of InterEdgeLayer (parameters "W", "W_product", "mlp" as
  there), adding the chunk's new edges to the carried per-node reduction."""
  features: Sequence[int]
  kernel_features: Optional[int]
  layer_norm: bool
  dtype: Any
  product: bool
  aggregation: str
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, carry, chunk, nodes):
    senders, receivers, edges = chunk
    width = self.kernel_features or nodes.shape[-1]
    fused = EdgeConcatDense(width, use_bias=False, dtype=self.dtype,
                            param_dtype=self.param_dtype, name="W")(
        nodes, nodes, senders, receivers)
    if self.product:
      fused = fused + nn.Dense(width, use_bias=False, dtype=self.dtype,
                               param_dtype=self.param_dtype, name="W_product")(
          nodes[senders] * nodes[receivers])
    inputs = fused if edges is None else jnp.concatenate([fused, edges], -1)
    _, new = _MLPChunk(self.features, activate_final=True, layer_norm=self.layer_norm,
                       dtype=self.dtype, param_dtype=self.param_dtype, name="mlp")(None, inputs)
    num_nodes = nodes.shape[0]
    values = new.astype(jnp.float32)
    if self.aggregation == "max":
      carry = jnp.maximum(carry, jnp.maximum(jax.ops.segment_max(values, senders, num_nodes),
                                             jax.ops.segment_max(values, receivers, num_nodes)))
    else:
      carry = (carry + jax.ops.segment_sum(values, senders, num_nodes)
               + jax.ops.segment_sum(values, receivers, num_nodes))
    return carry, new


class _NodeUpdate(nn.Module):
  """NodeLayer's update (parameter "mlp" as there) on a given aggregation."""
  features: Sequence[int]
  layer_norm: bool = False
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, aggregated, nodes):
    dtype = self.dtype or jnp.result_type(nodes.dtype, self.param_dtype)
    x = jnp.concatenate([aggregated.astype(dtype), nodes], -1)
    _, out = _MLPChunk(self.features, activate_final=True, layer_norm=self.layer_norm,
                       dtype=self.dtype, param_dtype=self.param_dtype, name="mlp")(None, x)
    return out


class ChunkedInterGCNUnit(nn.Module):
  """`xmjax.nn.InterGCNUnit` (incident="both", no sender layout) with its
  edge work done `num_chunks` chunks at a time (module docstring). The same
  parameters as InterGCNUnit: "edge" (W, optional W_product, mlp) and
  "node" (mlp)."""
  features: Sequence[int] = (16, 16)
  num_chunks: int = 8
  aggregation: str = "mean"
  layer_norm: bool = False
  dtype: Any = None
  product: bool = False
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, graph: jraph.GraphsTuple) -> jraph.GraphsTuple:
    if self.aggregation not in ("mean", "sum", "max"):
      raise ValueError(f"aggregation: unknown reduction {self.aggregation!r}")
    nodes = graph.nodes
    num_nodes, num_edges = nodes.shape[0], graph.senders.shape[0]
    outside = num_nodes  # padding edges join no node: segment ops drop them
    chunks = (chunk_edges(graph.senders, self.num_chunks, outside),
              chunk_edges(graph.receivers, self.num_chunks, outside),
              None if graph.edges is None else chunk_edges(graph.edges, self.num_chunks))
    width = self.features[-1]
    start = jnp.full((num_nodes, width), -jnp.inf if self.aggregation == "max" else 0.0,
                     jnp.float32)
    edge_scan = _scan(_InterEdgeChunk, in_axes=(0, nn.broadcast))(
        self.features, None, self.layer_norm, self.dtype, self.product, self.aggregation,
        self.param_dtype, name="edge")
    total, new_edges = edge_scan(start, chunks, nodes)
    if self.aggregation == "max":
      aggregated = jnp.where(jnp.isfinite(total), total, 0.0)
    elif self.aggregation == "sum":
      aggregated = total
    else:
      ones = jnp.ones((num_edges,), jnp.float32)
      count = (jax.ops.segment_sum(ones, graph.senders, num_nodes)
               + jax.ops.segment_sum(ones, graph.receivers, num_nodes))
      aggregated = total / jnp.maximum(count, 1.0)[:, None]
    nodes = _NodeUpdate(self.features, self.layer_norm, self.dtype, self.param_dtype,
                        name="node")(aggregated, nodes)
    return graph._replace(nodes=nodes, edges=unchunk_edges(new_edges, num_edges))
