"""RR-Net's ablations, trained in the same run as RR-Net on the same graphs.

Which of RR-Net's relations earn their keep? Each ablation removes one and
keeps everything else (data, candidates, optimiser, steps, initialisation
seed), so its test accuracy is paired with RR-Net's and the baseline's in
one results.json and, over seeds, in `launch/sweep.py`'s paired table:

- `inter_only` (`rrnet_inter_only/`): every unit an inter unit, as many as
  RR-Net has: no instance-instance and no label-label message passing.
- `no_instance_graph` (`rrnet_no_instance_graph/`): the instance kNN edges
  replaced by self-loops (the same layout, units and parameters; each
  instance hears only itself in the intra units).
- `no_label_graph` (`rrnet_no_label_graph/`): the label nodes' kNN edges
  replaced by self-loops.
- `mlp_reranker` (`mlp_reranker/`): no graph at all; `CandidateMLP` scores
  each candidate from [instance attributes, candidate label attributes,
  baseline score], two hidden layers as wide as makes its parameter count
  closest to RR-Net's (same capacity), trained with RR-Net's loss,
  optimiser and steps. It answers "is it the relations, or any second-stage
  classifier on the baseline's features and scores?".
"""

from __future__ import annotations

import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp
import numpy as np

from xmjax.configs.fields import comma_list
from xmjax import graph as graph_lib
from xmjax.models import CandidateMLP, parse_units
from xmjax.train.rrnet_stage import make_rrnet, rrnet_stage
from xmjax.train.runner import TrainingStage
from xmjax.train.state import compute_dtype

__all__ = ["ABLATIONS", "Ablation", "ablation_stage", "edge_scores", "parse_ablations",
           "self_loops"]

# The re-ranker's hidden layers (its width is chosen to match RR-Net's size).
RERANKER_DEPTH = 2


def self_loops(edges: graph_lib.EdgeSet, num_nodes: int) -> graph_lib.EdgeSet:
  """An edge set of the same fixed out-degree layout in which every node's
  edges all point back to itself: a node then hears only itself."""
  degree = edges.senders.shape[0] // num_nodes
  ids = jnp.repeat(jnp.arange(num_nodes, dtype=edges.senders.dtype), degree)
  return graph_lib.EdgeSet(ids, ids, degree)


def edge_scores(graph: graph_lib.CrossModalGraph, probs: np.ndarray) -> jax.Array:
  """(E_inter,) the baseline's probability of each candidate pair; 0 on
  padding edges (they join padding nodes, outside `probs`)."""
  n1, n2 = graph.nodes1.shape[0], graph.nodes2.shape[0]
  padded = np.zeros((n1, n2), np.float32)
  padded[:probs.shape[0], :probs.shape[1]] = probs
  return jnp.asarray(padded)[graph.inter.senders, graph.inter.receivers]


@dataclasses.dataclass(frozen=True)
class Ablation:
  """prefix: results.json prefix and stage name. build(config, graphs, probs,
  prefix) -> (the TrainingStage, its inputs per part: (graph, labels, *inputs));
  `graphs` as the classification task builds them, `probs` the baseline's
  class probabilities per part."""
  prefix: str
  build: Callable[..., TrainingStage]


def _units_only_inter(config, graphs, probs, prefix):
  config = config.copy_and_resolve_references()
  config.rrnet.units = ",".join("inter" for _ in parse_units(config.rrnet.units))
  return rrnet_stage(config, graphs, name=prefix), graphs


def _without(edge_set: str):
  """Builds the ablation whose `edge_set` (intra1: instances, intra2: label
  nodes) is replaced by self-loops."""
  nodes = {"intra1": "nodes1", "intra2": "nodes2"}[edge_set]

  def build(config, graphs, probs, prefix):
    ablated = {}
    for part, (graph, labels) in graphs.items():
      loops = self_loops(getattr(graph, edge_set), getattr(graph, nodes).shape[0])
      ablated[part] = (graph._replace(**{edge_set: loops}), labels)
    return rrnet_stage(config, ablated, name=prefix), ablated
  return build


def _mlp_reranker(config, graphs, probs, prefix):
  graph = graphs["train"][0]
  rrnet_params = jax.eval_shape(make_rrnet(config).init, jax.random.key(0), graph)["params"]
  size = sum(int(np.prod(p.shape)) for p in jax.tree.leaves(rrnet_params))
  d1, d2 = graph.nodes1.shape[1], graph.nodes2.shape[1]
  width = CandidateMLP.width_for(size, RERANKER_DEPTH, d1, d2)
  model = CandidateMLP(width=width, depth=RERANKER_DEPTH, dtype=compute_dtype(config.dtype))
  with_scores = {part: (g, labels, edge_scores(g, probs[part]))
                 for part, (g, labels) in graphs.items()}
  return rrnet_stage(config, with_scores, name=prefix, model=model), with_scores


ABLATIONS: dict[str, Ablation] = {
    "inter_only": Ablation("rrnet_inter_only", _units_only_inter),
    "no_instance_graph": Ablation("rrnet_no_instance_graph", _without("intra1")),
    "no_label_graph": Ablation("rrnet_no_label_graph", _without("intra2")),
    "mlp_reranker": Ablation("mlp_reranker", _mlp_reranker),
}


def parse_ablations(value: str) -> tuple[str, ...]:
  """"inter_only, mlp_reranker" -> ("inter_only", "mlp_reranker"); "" -> ()."""
  return comma_list(value)


def ablation_stage(name: str, config, graphs: dict, probs: dict
                   ) -> tuple[TrainingStage, dict]:
  """The stage of ablation `name` and its inputs per part (see `Ablation`)."""
  ablation = ABLATIONS[name]
  return ablation.build(config, graphs, probs, ablation.prefix)
