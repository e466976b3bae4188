"""RR-Net's typed graph: two node sets, two intra edge sets and one inter edge set.

Like GraphCast's typed graphs, the three edge sets share node sets: intra-1
lives on modality-1 nodes, intra-2 on modality-2 nodes, and the inter graph
connects modality-1 senders to modality-2 receivers (its nodes "inherit" the
intra nodes, see docs/design.md). Indices in each `EdgeSet` are local to the node
set they point into.

Builders guarantee a *fixed out-degree layout*: intra-1 has exactly k1 edges
per modality-1 node, intra-2 k2 per modality-2 node, inter K per modality-1
node, each sorted by sender, and record it in each `EdgeSet.out_degree`
(static metadata that survives jit). Models use it to aggregate sent edges
by reshape + sum instead of a scatter (see `xmjax.nn.aggregate_edges`). Padding
keeps the layout: every padding edge joins two padding nodes, so real nodes
and edges compute exactly what they would unpadded.
"""

from __future__ import annotations

from typing import NamedTuple, Optional

import jax
import jax.numpy as jnp
import jraph
import numpy as np

from xmjax.errors import InputError
from xmjax.graph.knn import knn_graph, topk_candidates
from xmjax.nn.aggregation import first_layout_mismatch, is_concrete


class _EdgeSetFields(NamedTuple):
  senders: jax.Array    # (E,) int32
  receivers: jax.Array  # (E,) int32
  out_degree: Optional[int] = None


class EdgeSet(_EdgeSetFields):
  """Edges `senders[e] -> receivers[e]`, indices local to their node sets.

  `out_degree` is static layout metadata: an int d promises that the edges
  are sorted by sender and that sender node i sends exactly d edges (rows
  i*d .. i*d+d-1, so `senders == repeat(arange(E // d), d)`). The builders
  set it. It is pytree metadata, not a leaf, so it survives `jax.jit`,
  `jax.tree.map` and `_replace`; models use it to aggregate sent edges by
  reshape + sum under jit, where the sender values cannot be inspected.
  It is checked whenever the senders are concrete (construction and
  `_replace` outside jit: ValueError naming the first wrong edge); with
  traced senders the aggregation checks it on device instead
  (`xmjax.nn.aggregate_edges`). None (default): no promise, the general
  scatter path.
  """
  __slots__ = ()

  def __new__(cls, senders, receivers, out_degree: Optional[int] = None):
    if out_degree is not None:
      out_degree = int(out_degree)
      _check_out_degree(senders, out_degree)
    return super().__new__(cls, senders, receivers, out_degree)

  def _replace(self, **changes) -> "EdgeSet":
    fields = self._asdict()
    fields.update(changes)
    return EdgeSet(**fields)


def _check_out_degree(senders, out_degree: int) -> None:
  num_edges = senders.shape[0]
  if out_degree < 0 or (out_degree == 0 and num_edges) or (out_degree and num_edges % out_degree):
    raise ValueError(f"EdgeSet: out_degree={out_degree} does not divide the {num_edges} edges")
  if not is_concrete(senders):
    return
  mismatch = first_layout_mismatch(senders, ((num_edges // max(out_degree, 1), out_degree),))
  if mismatch:
    edge, sent_by, expected = mismatch
    raise ValueError(f"EdgeSet: out_degree={out_degree} promises edges sorted by sender, "
                     f"{out_degree} per node, but edge {edge} is sent by node {sent_by}, not "
                     f"{expected}; pass out_degree=None for a graph without that layout")


jax.tree_util.register_pytree_node(
    EdgeSet, lambda e: ((e.senders, e.receivers), e.out_degree),
    lambda out_degree, arrays: _EdgeSetFields.__new__(EdgeSet, *arrays, out_degree))


class CrossModalGraph(NamedTuple):
  """One RR-Net problem (a pytree of arrays; shapes are static under jit).

  Attributes:
    nodes1: (N1, D1) raw attributes of modality-1 nodes (e.g. images).
    nodes2: (N2, D2) raw attributes of modality-2 nodes (e.g. class names).
    intra1: edges within modality 1, indices into nodes1.
    intra2: edges within modality 2, indices into nodes2.
    inter: candidate pairs, senders into nodes1, receivers into nodes2.
    inter_targets: (E_inter,) float32 in [0, 1]: 1 for a true pair.
    inter_mask: (E_inter,) bool, False on padding edges.
    node1_mask: (N1,) bool, False on padding nodes.
  """
  nodes1: jax.Array
  nodes2: jax.Array
  intra1: EdgeSet
  intra2: EdgeSet
  inter: EdgeSet
  inter_targets: jax.Array
  inter_mask: jax.Array
  node1_mask: jax.Array

  # The fields whose arrays run over edges (split over devices when a graph's
  # edges are sharded); the others run over nodes.
  EDGE_FIELDS = ("intra1", "intra2", "inter", "inter_targets", "inter_mask")

  @property
  def num_candidates(self) -> int:
    """K: inter edges per modality-1 node (the fixed layout)."""
    return self.inter.senders.shape[0] // self.nodes1.shape[0]


def classification_graph(features, class_features, candidate_scores, labels, *,
                         k1: int, k2: int, num_candidates: int,
                         metric: str = "cosine") -> CrossModalGraph:
  """Builds the graph for classification as RR-Net does it.

  Args:
    features: (N1, D1) instance features (e.g. a CNN's penultimate layer).
    class_features: (C, D2) one attribute vector per class (label nodes).
    candidate_scores: (N1, C) the baseline's class scores; each instance is
      linked to its `num_candidates` best classes.
    labels: (N1,) true classes, used only for the inter-edge targets; pass
      None for unlabelled data (targets are then all zero).
    k1, k2: kNN degrees within instances and within classes.

  Returns:
    A CrossModalGraph with the fixed out-degree layout.
  """
  features = jnp.asarray(features)
  n1, c = features.shape[0], class_features.shape[0]
  if candidate_scores.shape != (n1, c):
    raise InputError(
        f"candidate_scores: expected shape ({n1}, {c}) for {n1} instances and {c} classes, "
        f"got {tuple(candidate_scores.shape)}")
  intra1 = EdgeSet(*knn_graph(features, k1, metric=metric, name="instance features (k1)"), k1)
  intra2 = EdgeSet(*knn_graph(class_features, k2, metric=metric, name="class features (k2)"), k2)
  inter = EdgeSet(*topk_candidates(candidate_scores, num_candidates, name="candidate_scores"),
                  num_candidates)
  if labels is None:
    targets = jnp.zeros(inter.senders.shape, jnp.float32)
  else:
    labels = jnp.asarray(labels)
    if labels.shape != (n1,):
      raise InputError(f"labels: expected shape ({n1},), got {tuple(labels.shape)}")
    targets = (inter.receivers == labels[inter.senders]).astype(jnp.float32)
  return CrossModalGraph(
      nodes1=features.astype(jnp.float32),
      nodes2=jnp.asarray(class_features, jnp.float32),
      intra1=intra1, intra2=intra2, inter=inter,
      inter_targets=targets,
      inter_mask=jnp.ones(inter.senders.shape, bool),
      node1_mask=jnp.ones((n1,), bool))


def round_up(n: int, multiple: int) -> int:
  """Smallest multiple of `multiple` that is >= n (the bucket for n)."""
  return -(-n // multiple) * multiple


def pad_cross_modal_graph(graph: CrossModalGraph, num_nodes1: int,
                          num_nodes2: int) -> CrossModalGraph:
  """Pads to `num_nodes1` modality-1 and `num_nodes2` modality-2 nodes.

  Padding nodes get zero attributes and the same out-degrees as real ones;
  their edges point at padding nodes only (intra: to themselves; inter: to
  the first padding modality-2 node), so real nodes are unaffected. Padding
  modality-1 nodes therefore need at least one padding modality-2 node.
  """
  n1, n2 = graph.nodes1.shape[0], graph.nodes2.shape[0]
  k1 = graph.intra1.senders.shape[0] // n1
  k2 = graph.intra2.senders.shape[0] // n2
  num_candidates = graph.num_candidates
  extra1, extra2 = num_nodes1 - n1, num_nodes2 - n2
  if extra1 < 0 or extra2 < 0:
    raise InputError(f"padding: graph has ({n1}, {n2}) nodes, more than the target "
                     f"({num_nodes1}, {num_nodes2})")
  if extra1 > 0 and extra2 == 0:
    raise InputError("padding: padding modality-1 nodes needs num_nodes2 > number of "
                     "modality-2 nodes (their inter edges go to a padding node)")
  if extra1 == 0 and extra2 == 0:
    return graph

  def self_edges(start, count, degree):
    ids = jnp.repeat(jnp.arange(start, start + count, dtype=jnp.int32), degree)
    return ids, ids

  s1, r1 = self_edges(n1, extra1, k1)
  s2, r2 = self_edges(n2, extra2, k2)
  s3 = jnp.repeat(jnp.arange(n1, num_nodes1, dtype=jnp.int32), num_candidates)
  r3 = jnp.full(s3.shape, n2, jnp.int32)
  cat = jnp.concatenate
  return CrossModalGraph(
      nodes1=jnp.pad(graph.nodes1, ((0, extra1), (0, 0))),
      nodes2=jnp.pad(graph.nodes2, ((0, extra2), (0, 0))),
      intra1=EdgeSet(cat([graph.intra1.senders, s1]), cat([graph.intra1.receivers, r1]),
                     graph.intra1.out_degree),
      intra2=EdgeSet(cat([graph.intra2.senders, s2]), cat([graph.intra2.receivers, r2]),
                     graph.intra2.out_degree),
      inter=EdgeSet(cat([graph.inter.senders, s3]), cat([graph.inter.receivers, r3]),
                    graph.inter.out_degree),
      inter_targets=jnp.pad(graph.inter_targets, (0, extra1 * num_candidates)),
      inter_mask=jnp.pad(graph.inter_mask, (0, extra1 * num_candidates)),
      node1_mask=jnp.pad(graph.node1_mask, (0, extra1)))


def pad_to_bucket(graph: CrossModalGraph, multiple: int) -> CrossModalGraph:
  """Pads both node sets up to a multiple of `multiple`, so that graphs of
  similar size share one compiled program."""
  n1, n2 = graph.nodes1.shape[0], graph.nodes2.shape[0]
  target1 = round_up(n1, multiple)
  target2 = n2 + 1 if target1 > n1 else n2
  return pad_cross_modal_graph(graph, target1, target2)


def union_graphs_tuple(nodes: jax.Array, edges: jax.Array, set1: EdgeSet, set2: EdgeSet,
                       offset2: int) -> jraph.GraphsTuple:
  """One `jraph.GraphsTuple` over the union node array from two edge sets.

  `set1` indexes rows [0, offset2) of `nodes`; `set2` is shifted by
  `offset2`. For the inter graph pass set1 = (senders, receivers + N1) and
  an empty set2, or use `inter_graphs_tuple`.
  """
  senders = jnp.concatenate([set1.senders, set2.senders + offset2])
  receivers = jnp.concatenate([set1.receivers, set2.receivers + offset2])
  return jraph.GraphsTuple(
      nodes=nodes, edges=edges, senders=senders, receivers=receivers,
      n_node=jnp.array([nodes.shape[0]]), n_edge=jnp.array([senders.shape[0]]),
      globals=None)


def inter_graphs_tuple(nodes: jax.Array, edges: jax.Array, inter: EdgeSet,
                       num_nodes1: int) -> jraph.GraphsTuple:
  """The inter graph as a `jraph.GraphsTuple` over the union node array."""
  return jraph.GraphsTuple(
      nodes=nodes, edges=edges, senders=inter.senders,
      receivers=inter.receivers + num_nodes1,
      n_node=jnp.array([nodes.shape[0]]), n_edge=jnp.array([inter.senders.shape[0]]),
      globals=None)


def graphs_tuple(nodes: jax.Array, senders: jax.Array, receivers: jax.Array,
                 edges: jax.Array | None = None) -> jraph.GraphsTuple:
  """A single-graph `jraph.GraphsTuple` from an edge list (e.g. `knn_graph`'s)."""
  return jraph.GraphsTuple(
      nodes=nodes, edges=edges, senders=jnp.asarray(senders), receivers=jnp.asarray(receivers),
      n_node=jnp.array([nodes.shape[0]]), n_edge=jnp.array([senders.shape[0]]), globals=None)


def pad_graphs_tuple(graph: jraph.GraphsTuple, node_multiple: int = 64,
                     edge_multiple: int = 256) -> jraph.GraphsTuple:
  """Pads a GraphsTuple (jraph convention: one extra padding graph that owns
  every padding node and edge) to node/edge counts rounded up to the given
  multiples, so graphs of similar size share one compiled program. Use
  `jraph.get_node_padding_mask` / `get_edge_padding_mask` to mask losses."""
  n = int(np.sum(np.asarray(graph.n_node)))
  e = int(np.sum(np.asarray(graph.n_edge)))
  num_graphs = int(np.asarray(graph.n_node).shape[0])
  return jraph.pad_with_graphs(graph, round_up(n + 1, node_multiple),
                               round_up(e, edge_multiple), num_graphs + 1)
