"""Graph construction: blockwise kNN, top-K candidates, RR-Net's typed graph, padding."""

from xmjax.graph.cross_modal import (
    CrossModalGraph, EdgeSet, classification_graph, graphs_tuple, inter_graphs_tuple,
    pad_graphs_tuple,
    pad_cross_modal_graph, pad_to_bucket, round_up, union_graphs_tuple)
from xmjax.graph.knn import blockwise_topk, brute_force_knn, knn_graph, topk_candidates

__all__ = [
    "CrossModalGraph", "EdgeSet", "blockwise_topk", "brute_force_knn", "classification_graph",
    "graphs_tuple", "inter_graphs_tuple", "knn_graph", "pad_graphs_tuple", "pad_cross_modal_graph", "pad_to_bucket",
    "round_up", "topk_candidates", "union_graphs_tuple",
]
