"""Straightforward eager PyTorch implementations of the benchmarked
computations, at the same sizes, for side-by-side timing (`bench` extra).

They are what a careful user would write without the algebra xmjax uses:
message passing by gather + `index_add_`, the relation network on the
materialised pair tensor, RACG's integrated graph built per pair.
"""
