"""Reusable Flax linen modules and jraph blocks; usable from any JAX code.

    import xmjax.nn
    unit = xmjax.nn.IntraGCNUnit(features=(16, 16))
    params = unit.init(key, graphs_tuple)
    out = unit.apply(params, graphs_tuple)   # a jraph.GraphsTuple
"""

from xmjax.nn.aggregation import (INCIDENT, REDUCTIONS, aggregate_edges, check_sender_layout,
                                  default_sorted_segments, gather_senders)
from xmjax.nn.chunked import ChunkedInterGCNUnit, chunk_edges, chunked_mlp, unchunk_edges
from xmjax.nn.cross_graph import (HeadTail, graph_attention, l2_normalize, masked_softmax,
                                  multi_head_similarity)
from xmjax.nn.gcn import (EdgeConcatDense, InterEdgeLayer, InterGCNUnit, IntraEdgeLayer,
                          IntraGCNUnit, NodeLayer)
from xmjax.nn.mlp import MLP
from xmjax.nn.relation import FUSIONS, RelationNetwork
from xmjax.nn.sparse import SparseDense, SparseRows, project

__all__ = [
    "ChunkedInterGCNUnit", "EdgeConcatDense", "FUSIONS", "HeadTail", "INCIDENT", "InterEdgeLayer", "InterGCNUnit",
    "IntraEdgeLayer", "IntraGCNUnit", "MLP", "NodeLayer", "REDUCTIONS", "RelationNetwork",
    "SparseDense", "SparseRows",
    "aggregate_edges", "check_sender_layout", "chunk_edges", "chunked_mlp",
    "default_sorted_segments", "gather_senders",
    "graph_attention", "l2_normalize",
    "masked_softmax", "multi_head_similarity", "project", "unchunk_edges",
]
