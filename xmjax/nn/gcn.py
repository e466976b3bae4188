"""RR-Net's GCN blocks as linen modules on `jraph.GraphsTuple`.

Shapes: N nodes with F_v features, E edges with F_e features; every block
returns a GraphsTuple with the same structure and new `nodes`/`edges`.

Paper (RR-Net, eq. 3-8):
  intra edge layer  e <- zeta([v_s || v_r], e)       = MLP([v_s || v_r || e])
  inter edge layer  e <- zeta(W [v_s || v_r], e)     = MLP([W (v_s || v_r) || e])
  node layer        v <- zeta(phi(E_v), v)           = MLP([agg(incident edges) || v])

A dense layer on a per-edge concatenation of endpoint features equals a sum
of per-node projections gathered to the edges ([v_s||v_r] K = v_s K_s +
v_r K_r). `EdgeConcatDense` computes it that way: N projections instead of E,
and no (E, 2F) concatenation. The kernel is stored whole, (F_s + F_r + F_e,
out), so parameters read exactly as the concatenated form.
"""

from __future__ import annotations

from typing import Any, Optional

import flax.linen as nn
import jax.numpy as jnp
import jraph

from xmjax.nn.aggregation import SenderLayout, aggregate_edges, gather_senders
from xmjax.nn.mlp import MLP
from xmjax.nn.sparse import project


class EdgeConcatDense(nn.Module):
  """Dense layer on [sender_nodes[senders] || receiver_nodes[receivers] || edges].

  Inputs: sender_nodes (N_s, F_s), receiver_nodes (N_r, F_r) (dense, or
  `xmjax.nn.SparseRows`), senders and receivers (E,), optional edges
  (E, F_e). Output (E, features), in `dtype` (None: the inputs' and
  parameters' promoted dtype, as nn.Dense). `sender_layout`: the graph's
  fixed out-degree layout over the sender nodes, if it has one: the sender
  rows are then repeated rather than gathered (`gather_senders`).
  """
  features: int
  use_bias: bool = True
  dtype: Any = None
  kernel_init: Any = nn.initializers.he_normal()
  param_dtype: Any = jnp.float32
  sender_layout: Optional[SenderLayout] = None

  @nn.compact
  def __call__(self, sender_nodes, receiver_nodes, senders, receivers, edges=None):
    f_s, f_r = sender_nodes.shape[-1], receiver_nodes.shape[-1]
    f_e = 0 if edges is None else edges.shape[-1]
    kernel = self.param("kernel", self.kernel_init, (f_s + f_r + f_e, self.features),
                        self.param_dtype)
    dtype = self.dtype or jnp.result_type(
        sender_nodes.dtype, receiver_nodes.dtype, self.param_dtype,
        *(() if edges is None else (edges.dtype,)))
    kernel = kernel.astype(dtype)
    from_sender = project(sender_nodes, kernel[:f_s], dtype)
    from_receiver = project(receiver_nodes, kernel[f_s:f_s + f_r], dtype)
    out = gather_senders(from_sender, senders, self.sender_layout) + from_receiver[receivers]
    if edges is not None:
      out = out + edges.astype(dtype) @ kernel[f_s + f_r:]
    if self.use_bias:
      out = out + self.param("bias", nn.initializers.zeros, (self.features,),
                             self.param_dtype).astype(dtype)
    return out


class IntraEdgeLayer(nn.Module):
  """e <- MLP([v_s || v_r || e]) (eq. 3-5). Output width `features[-1]`, activated.
  `sender_layout` as in EdgeConcatDense."""
  features: tuple[int, ...] = (16, 16)
  layer_norm: bool = False
  dtype: Any = None
  param_dtype: Any = jnp.float32
  sender_layout: Optional[SenderLayout] = None

  @nn.compact
  def __call__(self, graph: jraph.GraphsTuple) -> jraph.GraphsTuple:
    v = graph.nodes
    h = EdgeConcatDense(self.features[0], dtype=self.dtype, param_dtype=self.param_dtype,
                        sender_layout=self.sender_layout, name="first")(
        v, v, graph.senders, graph.receivers, graph.edges)
    h = nn.relu(h)
    if self.layer_norm:
      h = nn.LayerNorm(dtype=self.dtype, param_dtype=self.param_dtype, name="first_norm")(h)
    edges = MLP(self.features[1:], activate_final=True, layer_norm=self.layer_norm,
                dtype=self.dtype, param_dtype=self.param_dtype,
                name="rest")(h) if len(self.features) > 1 else h
    return graph._replace(edges=edges)


class InterEdgeLayer(nn.Module):
  """e <- MLP([W (v_s || v_r) || e]) (eq. 6-7); W is the learned kernel `W`
  (no bias) of width `kernel_features` (default: the node width).

  product=True adds W_prod (v_s * v_r), a second kernel on the elementwise
  product of the endpoints (not in the paper): an MLP on a concatenation
  learns a product of its halves only approximately, and rating prediction
  is one (matrix factorisation's p_u . q_i). It costs one (E, F) gather
  product per edge, where the concatenated term needs none.
  `sender_layout` as in EdgeConcatDense.
  """
  features: tuple[int, ...] = (16, 16)
  kernel_features: Optional[int] = None
  layer_norm: bool = False
  dtype: Any = None
  product: bool = False
  param_dtype: Any = jnp.float32
  sender_layout: Optional[SenderLayout] = None

  @nn.compact
  def __call__(self, graph: jraph.GraphsTuple) -> jraph.GraphsTuple:
    v = graph.nodes
    width = self.kernel_features or v.shape[-1]
    fused = EdgeConcatDense(width, use_bias=False, dtype=self.dtype,
                            param_dtype=self.param_dtype, sender_layout=self.sender_layout,
                            name="W")(
        v, v, graph.senders, graph.receivers)
    if self.product:
      fused = fused + nn.Dense(width, use_bias=False, dtype=self.dtype,
                               param_dtype=self.param_dtype, name="W_product")(
          gather_senders(v, graph.senders, self.sender_layout) * v[graph.receivers])
    inputs = fused if graph.edges is None else jnp.concatenate([fused, graph.edges], -1)
    edges = MLP(self.features, activate_final=True, layer_norm=self.layer_norm,
                dtype=self.dtype, param_dtype=self.param_dtype, name="mlp")(inputs)
    return graph._replace(edges=edges)


class NodeLayer(nn.Module):
  """v <- MLP([agg(all incident edges) || v]) (eq. 8), agg non-parametric.

  Attributes:
    aggregation: "mean" (default), "sum" or "max" over incident edges.
    sender_layout: optional fixed out-degree layout of the graph, for a
      scatter-free reduction of sent edges (see `xmjax.nn.aggregate_edges`;
      checked against the graph whenever its arrays are concrete).
    incident: "both" (the paper: sent and received edges) or "received"
      (jraph's convention).
    sorted_segments: see `xmjax.nn.aggregate_edges` (a TPU compile-time
      choice for the sent edges of a fixed layout; None: by backend).
  """
  features: tuple[int, ...] = (16, 16)
  aggregation: str = "mean"
  sender_layout: Optional[SenderLayout] = None
  layer_norm: bool = False
  dtype: Any = None
  incident: str = "both"
  param_dtype: Any = jnp.float32
  sorted_segments: Optional[bool] = None

  @nn.compact
  def __call__(self, graph: jraph.GraphsTuple) -> jraph.GraphsTuple:
    num_nodes = graph.nodes.shape[0]
    agg = aggregate_edges(graph.edges, graph.senders, graph.receivers, num_nodes,
                          self.aggregation, self.sender_layout, self.incident,
                          self.sorted_segments)
    agg = agg.astype(self.dtype or jnp.result_type(graph.nodes.dtype, self.param_dtype))
    nodes = MLP(self.features, activate_final=True, layer_norm=self.layer_norm,
                dtype=self.dtype, param_dtype=self.param_dtype,
                name="mlp")(jnp.concatenate([agg, graph.nodes], -1))
    return graph._replace(nodes=nodes)


class _GCNUnit(nn.Module):
  """An edge layer then a node layer; subclasses name the edge layer.
  `sender_layout` serves the node layer's reduction of sent edges, and the
  edge layer's sender rows too when `repeat_sender_rows` (EdgeConcatDense);
  `sorted_segments` as in NodeLayer."""
  features: tuple[int, ...] = (16, 16)
  aggregation: str = "mean"
  sender_layout: Optional[SenderLayout] = None
  layer_norm: bool = False
  dtype: Any = None
  incident: str = "both"
  param_dtype: Any = jnp.float32
  repeat_sender_rows: bool = False
  sorted_segments: Optional[bool] = None

  @property
  def edge_sender_layout(self) -> Optional[SenderLayout]:
    return self.sender_layout if self.repeat_sender_rows else None

  @nn.nowrap   # a factory, not a layer: nn.tabulate must not record its result
  def edge_layer(self) -> nn.Module:
    raise NotImplementedError

  @nn.compact
  def __call__(self, graph: jraph.GraphsTuple) -> jraph.GraphsTuple:
    graph = self.edge_layer()(graph)
    return NodeLayer(self.features, self.aggregation, self.sender_layout, self.layer_norm,
                     self.dtype, self.incident, self.param_dtype, self.sorted_segments,
                     name="node")(graph)


class IntraGCNUnit(_GCNUnit):
  """Intra-edge layer then node layer (one "intra" unit of RR-Net)."""

  @nn.nowrap
  def edge_layer(self):
    return IntraEdgeLayer(self.features, layer_norm=self.layer_norm, dtype=self.dtype,
                          param_dtype=self.param_dtype, sender_layout=self.edge_sender_layout,
                          name="edge")


class InterGCNUnit(_GCNUnit):
  """Inter-edge layer (with kernel W) then node layer (one "inter" unit);
  `product` as in InterEdgeLayer."""
  product: bool = False

  @nn.nowrap
  def edge_layer(self):
    return InterEdgeLayer(self.features, layer_norm=self.layer_norm, dtype=self.dtype,
                          product=self.product, param_dtype=self.param_dtype,
                          sender_layout=self.edge_sender_layout, name="edge")
