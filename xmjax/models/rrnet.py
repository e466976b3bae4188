"""RR-Net (Relational Reasoning Network) for cross-modal mapping.

Encoder (eq. 1) -> stacked intra/inter GCN units (eq. 3-8) -> decoder to one
logit per inter edge (eq. 2) -> binary cross entropy over inter edges (eq. 9).
See `xmjax.graph.CrossModalGraph` for the input and docs/design.md for the choices
the paper leaves open.
"""

from __future__ import annotations

from typing import Any, Optional, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import optax

from xmjax.configs.fields import comma_list
from xmjax.graph.cross_modal import CrossModalGraph, inter_graphs_tuple, union_graphs_tuple
from xmjax.nn.aggregation import is_concrete, matches_layout
from xmjax.nn.chunked import ChunkedInterGCNUnit, chunked_mlp
from xmjax.nn.gcn import EdgeConcatDense, InterGCNUnit, IntraGCNUnit
from xmjax.nn.mlp import MLP

UNIT_KINDS = ("intra", "inter")


def parse_units(units: str | Sequence[str]) -> tuple[str, ...]:
  """"intra,inter,inter" -> ("intra", "inter", "inter"); raises on unknown names."""
  parts = comma_list(units) if isinstance(units, str) else tuple(units)
  bad = [u for u in parts if u not in UNIT_KINDS]
  if not parts or bad:
    raise ValueError(f"units: expected a comma-separated list of {UNIT_KINDS}, got {units!r}")
  return parts


class RRNet(nn.Module):
  """RR-Net over a `CrossModalGraph`.

  Attributes:
    latent: width d of node and edge representations.
    hidden: hidden width of every MLP (paper: one hidden layer of 16).
    units: the GCN unit sequence, e.g. "intra,inter,intra,inter,inter".
    aggregation: node-layer reduction over incident edges: mean, sum or max.
    fixed_degree: whether the graph has the builders' fixed out-degree
      layout (kNN and top-K graphs do; given relations such as trust links
      do not), so sent edges are reduced by reshape + sum rather than a
      scatter. None (default): decided from the graph: from its edge sets'
      `out_degree` metadata (set by the builders, kept under jit), else
      from its arrays when they are concrete, else the general path.
      True: asserted by the caller, checked when the arrays are concrete
      (ValueError on a graph without the layout) and on device under jit
      (a graph without it gives NaN logits, never a plausible wrong
      answer). False: always the general path.
    layer_norm: LayerNorm after each activation in the GCN units.
    inter_product: the inter-edge layers also see the elementwise product of
      their endpoints' states (InterEdgeLayer.product; not in the paper).
    dtype: compute dtype (e.g. jnp.bfloat16); params and loss stay float32.
    remat: rematerialise every unit, the inter-edge encoder and the decoder
      in the backward pass (`nn.remat`): only each block's inputs are kept
      from the forward pass, not its per-edge hidden activations. The same
      numbers at about one more forward pass of compute; what lets the
      all-items FilmTrust graph (3.4M inter edges) train in a few GB.
      XLA may schedule the recomputation early (on CPU it does: no saving
      measured); `edge_chunks` bounds memory on every backend.
    edge_chunks: > 0 computes the inter-edge encoder, every inter unit and
      the decoder over the inter edges in this many chunks under a
      rematerialised `lax.scan` (`xmjax.nn.chunked`): the same parameters
      and numbers, with only each block's input and output edges kept
      whole. For inter graphs whose per-edge activations do not fit.
    repeat_sender_rows: with the fixed layout, the edge layers repeat each
      node's projected row for its sent edges instead of gathering it
      (`xmjax.nn.gather_senders`): no gather forward and no scatter-add in
      the gradient for the sender side. Same forward values; the gradient
      sums in another order (equal within round-off). Off by default:
      on 2 CPU cores it is neither faster nor slower (the CIFAR-100-scale
      step, benchmarks/RESULTS.md 2026-12-07) and it would change CPU
      results at round-off; compiled for TPU v5e it drops 8 of 20 gathers,
      8 of 22 scatters and 4 of 9 sorts and the cost model's bytes by 16%,
      which only a run on the device can confirm.
    sorted_segments: with the fixed layout, the node layers reduce sent
      edges by a segment sum told its indices are sorted (True), not by
      reshape + sum (False) (`xmjax.nn.aggregate_edges`). None (the
      default): on for TPUs only (`xmjax.nn.default_sorted_segments`): the
      CIFAR-100-scale step compiles for v5e in 35-51 s instead of 129-158
      s, at 8% more bytes by the TPU cost model; off on GPUs (a scatter-add
      with many updates per index is slow with jax 0.10.2-0.11.0) and CPUs
      (level, and results stay as they were).

  Call: graph -> (E_inter,) float32 logits, one per inter edge.
  """
  latent: int = 16
  hidden: int = 16
  units: str = "intra,inter,intra,inter,inter"
  aggregation: str = "mean"
  fixed_degree: Optional[bool] = None
  layer_norm: bool = False
  inter_product: bool = False
  dtype: Any = None
  remat: bool = False
  edge_chunks: int = 0
  repeat_sender_rows: bool = False
  sorted_segments: Optional[bool] = None

  @nn.compact
  def __call__(self, graph: CrossModalGraph) -> jax.Array:
    n1 = graph.nodes1.shape[0]
    enc = (self.hidden, self.latent)
    # Checkpointed blocks keep their parameter names (nn.remat wraps the class).
    block = nn.remat if self.remat else (lambda cls: cls)
    edge_first, edge_mlp = block(EdgeConcatDense), block(MLP)
    intra_unit, inter_unit = block(IntraGCNUnit), block(InterGCNUnit)

    chunks = self.edge_chunks
    intra_layout, inter_layout = fixed_layouts(graph)
    fixed = self.fixed_degree
    if fixed is None:  # use the fast path only where the graph is known to have it
      shown, declared = shows_fixed_layout(graph), declares_fixed_layout(graph)
      if declared and not shown and is_concrete(graph.inter.senders):
        raise ValueError(
            "graph: its edge sets declare out_degree (sorted by sender, fixed degree) but "
            "their senders do not have that layout; jax.tree.map and _replace keep "
            "out_degree, so after reordering edges rebuild them with EdgeSet(senders, "
            "receivers) (out_degree=None)")
      fixed = shown or declared
    if not fixed:
      intra_layout = inter_layout = None

    def encode_edges(name, src, dst, edge_set, layout, chunked=False):
      # Edge init is [v_s || v_r] (paper III-B); its first dense layer is
      # computed from per-node projections (exact, see EdgeConcatDense).
      # `layout`: the edge set's own block of the fixed layouts.
      h = edge_first(self.hidden, dtype=self.dtype,
                     sender_layout=layout if self.repeat_sender_rows else None,
                     name=f"{name}_first")(src, dst, edge_set.senders, edge_set.receivers)
      if chunked:
        return chunked_mlp(h, (self.latent,), chunks, name=f"{name}_rest", activate_final=True,
                           dtype=self.dtype, activate_input=True)
      return edge_mlp((self.latent,), activate_final=True, dtype=self.dtype,
                      name=f"{name}_rest")(nn.relu(h))

    # Encoder: one node MLP per modality, one edge MLP per graph (eq. 1).
    nodes = jnp.concatenate([
        MLP(enc, activate_final=True, dtype=self.dtype, name="encode_nodes1")(graph.nodes1),
        MLP(enc, activate_final=True, dtype=self.dtype, name="encode_nodes2")(graph.nodes2),
    ], axis=0)
    intra_edges = jnp.concatenate([
        encode_edges("encode_intra1", graph.nodes1, graph.nodes1, graph.intra1,
                     intra_layout and intra_layout[:1]),
        encode_edges("encode_intra2", graph.nodes2, graph.nodes2, graph.intra2,
                     intra_layout and intra_layout[1:])], axis=0)
    inter_edges = encode_edges("encode_inter", graph.nodes1, graph.nodes2, graph.inter,
                               inter_layout and inter_layout[:1],
                               chunked=chunks > 0)

    intra = union_graphs_tuple(nodes, intra_edges, graph.intra1, graph.intra2, n1)
    inter = inter_graphs_tuple(nodes, inter_edges, graph.inter, n1)

    unit_features = (self.hidden, self.latent)
    for i, kind in enumerate(parse_units(self.units)):
      if kind == "intra":
        intra = intra_unit(unit_features, self.aggregation, intra_layout, self.layer_norm,
                             self.dtype, repeat_sender_rows=self.repeat_sender_rows,
                             sorted_segments=self.sorted_segments,
                             name=f"unit{i}_intra")(intra._replace(nodes=nodes))
        nodes = intra.nodes
      elif chunks:
        inter = ChunkedInterGCNUnit(unit_features, chunks, self.aggregation, self.layer_norm,
                                    self.dtype, product=self.inter_product,
                                    name=f"unit{i}_inter")(inter._replace(nodes=nodes))
        nodes = inter.nodes
      else:
        inter = inter_unit(unit_features, self.aggregation, inter_layout, self.layer_norm,
                             self.dtype, product=self.inter_product,
                             repeat_sender_rows=self.repeat_sender_rows,
                             sorted_segments=self.sorted_segments,
                             name=f"unit{i}_inter")(inter._replace(nodes=nodes))
        nodes = inter.nodes

    if chunks:
      logits = chunked_mlp(inter.edges, (self.hidden, 1), chunks, name="decoder",
                           dtype=self.dtype)
    else:
      logits = edge_mlp((self.hidden, 1), dtype=self.dtype, name="decoder")(inter.edges)
    return logits[:, 0].astype(jnp.float32)


class CandidateMLP(nn.Module):
  """A re-ranker with no graph: one logit per inter edge (candidate pair)
  from [instance attributes || candidate's label-node attributes || the
  baseline's score for the candidate], by an MLP of `depth` hidden layers of
  `width`. RR-Net's graph-free ablation: it sees what RR-Net's inter-edge
  encoder sees (plus the score), but no other instance and no other label.

  Call: (graph, edge_scores (E_inter,)) -> (E_inter,) float32 logits.
  """
  width: int = 64
  depth: int = 2
  dtype: Any = None

  @nn.compact
  def __call__(self, graph: CrossModalGraph, edge_scores: jax.Array) -> jax.Array:
    # The first layer on the concatenation, from per-node projections (exact).
    h = EdgeConcatDense(self.width, dtype=self.dtype, name="first")(
        graph.nodes1, graph.nodes2, graph.inter.senders, graph.inter.receivers,
        edge_scores[:, None])
    features = (self.width,) * (self.depth - 1) + (1,)
    logits = MLP(features, dtype=self.dtype, name="rest")(nn.relu(h))
    return logits[:, 0].astype(jnp.float32)

  @staticmethod
  def num_params(width: int, depth: int, d1: int, d2: int) -> int:
    """Parameters of CandidateMLP(width, depth) on d1- and d2-wide node attributes."""
    return (d1 + d2 + 2) * width + (depth - 1) * (width + 1) * width + width + 1

  @classmethod
  def width_for(cls, num_params: int, depth: int, d1: int, d2: int) -> int:
    """The width whose parameter count is closest to `num_params` (same capacity)."""
    best = min(range(1, 4097), key=lambda w: abs(cls.num_params(w, depth, d1, d2) - num_params))
    return best


def declares_fixed_layout(graph: CrossModalGraph) -> bool:
  """Whether every edge set carries the builders' `out_degree` metadata
  (checked against the arrays when the set was made; static under jit)."""
  n1, n2 = graph.nodes1.shape[0], graph.nodes2.shape[0]
  degrees = (graph.intra1.out_degree, graph.intra2.out_degree, graph.inter.out_degree)
  return (None not in degrees and degrees[0] * n1 == graph.intra1.senders.shape[0]
          and degrees[1] * n2 == graph.intra2.senders.shape[0]
          and degrees[2] * n1 == graph.inter.senders.shape[0])


def shows_fixed_layout(graph: CrossModalGraph) -> bool:
  """Whether the graph's (concrete) senders have the fixed layout; False
  when they are traced."""
  edge_sets = (graph.intra1, graph.intra2, graph.inter)
  if not all(is_concrete(e.senders) for e in edge_sets):
    return False
  n1 = graph.nodes1.shape[0]
  intra_layout, inter_layout = fixed_layouts(graph)
  intra_senders = np.concatenate([np.asarray(graph.intra1.senders),
                                  np.asarray(graph.intra2.senders) + n1])
  return (matches_layout(intra_senders, intra_layout)
          and matches_layout(graph.inter.senders, inter_layout[:1]))


def fixed_layouts(graph: CrossModalGraph):
  """The sender layouts of the union intra graph and the inter graph that
  the builders produce: every node sends the same number of edges, edges
  sorted by sender."""
  n1, n2 = graph.nodes1.shape[0], graph.nodes2.shape[0]
  k1 = graph.intra1.senders.shape[0] // max(n1, 1)
  k2 = graph.intra2.senders.shape[0] // max(n2, 1)
  return ((n1, k1), (n2, k2)), ((n1, graph.num_candidates), (n2, 0))


def bce_loss(logits: jax.Array, targets: jax.Array, mask: jax.Array,
             reduction: str = "mean") -> jax.Array:
  """Binary cross entropy over real inter edges (eq. 9); soft targets allowed.

  reduction "mean" divides by the number of real edges, "sum" is eq. 9 as
  written.
  """
  per_edge = optax.sigmoid_binary_cross_entropy(logits.astype(jnp.float32), targets)
  per_edge = jnp.where(mask, per_edge, 0.0)
  total = per_edge.sum()
  if reduction == "sum":
    return total
  return total / jnp.maximum(mask.sum(), 1)


def predict_classes(logits: jax.Array, graph: CrossModalGraph) -> jax.Array:
  """(N1,) predicted class per modality-1 node: its most probable candidate.

  Uses the fixed layout: node i's candidates are inter edges i*K .. i*K+K-1.
  """
  kk = graph.num_candidates
  best = jnp.argmax(logits.reshape(-1, kk), axis=1)
  return graph.inter.receivers.reshape(-1, kk)[jnp.arange(best.shape[0]), best]


def classification_metrics(logits: jax.Array, graph: CrossModalGraph,
                           labels: jax.Array) -> dict[str, jax.Array]:
  """Accuracy over real modality-1 nodes; a true class outside the candidates
  counts as wrong. Also the candidate recall (true class among the K)."""
  mask = graph.node1_mask
  count = jnp.maximum(mask.sum(), 1)
  correct = (predict_classes(logits, graph) == labels) & mask
  kk = graph.num_candidates
  has_true = (graph.inter_targets.reshape(-1, kk) > 0.5).any(axis=1) & mask
  return {"accuracy": correct.sum() / count, "candidate_recall": has_true.sum() / count}
