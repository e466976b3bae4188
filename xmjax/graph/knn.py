"""Blockwise k-nearest-neighbour graphs and top-K candidate edges, on device.

`knn_graph` never forms the N x N similarity matrix: it scans row blocks
(`lax.map`) and, inside each, column blocks (`lax.scan`) while keeping a
running top-k, so peak memory is O(row_block * (col_block + k)) whatever N is.

Both builders are traceable: they run under `jax.jit` and `jax.vmap` (a
graph from learned embeddings inside a step, or one graph per point set of
a batch). Their shape checks are static; the check for NaN/Inf inputs needs
concrete values, so it runs eagerly only. Traced, a NaN score ranks below
every finite one (a NaN row still gets k valid neighbours, the lowest
indices). `blockwise_topk` is the kernel, for queries against other keys.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from xmjax import programs
from xmjax.errors import InputError
from xmjax.nn.aggregation import is_concrete
from xmjax.nn.sharding import map_row_shards, row_plan, whole

# What a NaN score becomes in the running top-k: below every finite score,
# above the -inf of excluded self pairs and padding (always a real index).
_NAN_SCORE = float(-np.finfo(np.float32).max)
METRICS = ("cosine", "euclidean", "dot")


def search_blocks(platform: str | None = None) -> tuple[int, int, int]:
  """knn_graph's (row_block, col_block, group) for `platform` (default: the
  default backend; a program compiled for another target names it). CPU:
  the two-level merge, fastest measured on 2 cores at 100,000 x 128, k = 20;
  accelerators: the plain merge with 4096-column blocks, which the TPU
  compiler's cycle estimate puts at 0.4x the two-level's time on v5p
  (benchmarks/RESULTS.md; XLA's TPU top-k is a sort, not the CPU's
  single-threaded partial sort). Not yet measured on a GPU."""
  if (platform or jax.default_backend()) == "cpu":
    return 512, 16384, 32
  return 512, 4096, 1


def prepare_points(features: jax.Array, metric: str):
  """Returns (points, key_bias) with score(i, j) = points_i . points_j + key_bias_j.

  The score is monotone in the metric's similarity for each query row:
  cosine uses L2-normalised rows; euclidean uses -|x_i - x_j|^2 with the
  per-row constant |x_i|^2 dropped, i.e. 2 x_i.x_j - |x_j|^2.
  """
  x = features.astype(jnp.float32)
  if metric == "cosine":
    x = x / jnp.maximum(jnp.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    return x, jnp.zeros(x.shape[0], jnp.float32)
  if metric == "euclidean":
    return x, -0.5 * jnp.sum(x * x, axis=1)  # (x_i.x_j - |x_j|^2/2) has the same order.
  return x, jnp.zeros(x.shape[0], jnp.float32)


@programs.jit(static_argnames=("k", "row_block", "col_block", "exclude_self", "group"))
def blockwise_topk(queries, keys, key_bias, row_offset=0, *, k, row_block, col_block,
                   exclude_self, group=None):
  """Indices (n_queries, k) of each query's k best keys by score
  queries_i . keys_j + key_bias_j, best first, ties to the lower index;
  NaN scores rank last. Memory O(row_block * (col_block + k * group)).

  exclude_self: query i never gets key row_offset + i (the queries are rows
  row_offset.. of the keys' points; `row_offset` may be traced).
  group: the merge of each column block is two-level when col_block is a
    multiple of `group` with at least k groups: the k groups with the best
    maxima hold the block's k best scores (each of those scores is at most
    its group's maximum, and ties among maxima go to the lower group, so
    to the lower column), and only their k * group scores meet the running
    best. Exact, indices included; it cuts the top-k input, which on CPU
    is a single-threaded partial sort that outweighs the matmul. 1 turns it
    off; None: `search_blocks()`'s group for the backend.
  Traceable (jit, vmap); k, the block sizes and group are static.
  """
  group = search_blocks()[2] if group is None else group
  n_q, n_k = queries.shape[0], keys.shape[0]
  q_pad = -n_q % row_block
  k_pad = -n_k % col_block
  queries = jnp.pad(queries, ((0, q_pad), (0, 0)))
  keys = jnp.pad(keys, ((0, k_pad), (0, 0)))
  key_bias = jnp.pad(key_bias, (0, k_pad), constant_values=-jnp.inf)
  key_blocks = keys.reshape(-1, col_block, keys.shape[1])
  bias_blocks = key_bias.reshape(-1, col_block)
  two_level = group > 1 and col_block % group == 0 and col_block // group >= k

  def block_candidates(scores, col_start):
    """(scores, columns) that can still enter the top k, in column order."""
    if not two_level:
      return scores, jnp.broadcast_to(col_start + jnp.arange(col_block), scores.shape)
    grouped = scores.reshape(row_block, col_block // group, group)
    _, best_groups = jax.lax.top_k(grouped.max(axis=2), k)
    best_groups = jnp.sort(best_groups, axis=1)   # column order, for the tie rule
    candidates = jnp.take_along_axis(grouped, best_groups[:, :, None], axis=1)
    columns = col_start + best_groups[:, :, None] * group + jnp.arange(group)
    return candidates.reshape(row_block, k * group), columns.reshape(row_block, k * group)

  def one_row_block(args):
    row_start, q = args
    rows = row_offset + row_start + jnp.arange(row_block)

    def merge(carry, block):
      best_val, best_idx = carry
      col_start, kb, bb = block
      cols = col_start + jnp.arange(col_block)
      scores = q @ kb.T + bb[None, :]
      scores = jnp.where(jnp.isnan(scores), _NAN_SCORE, scores)
      if exclude_self:
        scores = jnp.where(rows[:, None] == cols[None, :], -jnp.inf, scores)
      candidates, columns = block_candidates(scores, col_start)
      # Running best first, so equal scores keep the lower column index.
      vals = jnp.concatenate([best_val, candidates], axis=1)
      idx = jnp.concatenate([best_idx, columns], axis=1)
      top_val, pos = jax.lax.top_k(vals, k)
      return (top_val, jnp.take_along_axis(idx, pos, axis=1)), None

    init = (jnp.full((row_block, k), -jnp.inf, jnp.float32),
            jnp.full((row_block, k), n_k, jnp.int32))
    col_starts = jnp.arange(key_blocks.shape[0], dtype=jnp.int32) * col_block
    (_, idx), _ = jax.lax.scan(merge, init, (col_starts, key_blocks, bias_blocks))
    return idx

  row_starts = jnp.arange(queries.shape[0] // row_block, dtype=jnp.int32) * row_block
  idx = jax.lax.map(one_row_block, (row_starts, queries.reshape(-1, row_block, queries.shape[1])))
  return idx.reshape(-1, k)[:n_q]


def balanced_col_block(n: int, col_block: int, group: int = 1) -> int:
  """The column block for n keys. With a two-level merge (group > 1): as
  few blocks of at most `col_block` as n needs, split evenly, then rounded
  up to a multiple of `group` when it holds one, so the padding is under
  one group a block rather than up to a whole block. Plain (group 1):
  min(col_block, n), as before (an even split like 4000 columns costs a
  TPU more than 4096: its estimate, 7.75 vs 6.21 ms on v5p)."""
  col_block = max(1, min(col_block, n))
  if group <= 1:
    return col_block
  even = -(-n // -(-n // col_block))
  return -(-even // group) * group if even >= group else even


def resolve_blocks(n: int, row_block: int | None = None, col_block: int | None = None,
                   group: int | None = None, platform: str | None = None
                   ) -> tuple[int, int, int]:
  """(row_block, col_block, group) for a search over n keys: each None from
  `search_blocks(platform)`, the column block evened out over n
  (`balanced_col_block`). What knn_graph searches with."""
  defaults = search_blocks(platform)
  row_block = defaults[0] if row_block is None else row_block
  group = defaults[2] if group is None else group
  col_block = balanced_col_block(n, defaults[1] if col_block is None else col_block, group)
  return row_block, col_block, group


def knn_graph(features, k: int, *, metric: str = "cosine", row_block: int | None = None,
              col_block: int | None = None, group: int | None = None,
              name: str = "features", row_axis=None, mesh=None
              ) -> tuple[jax.Array, jax.Array]:
  """Directed kNN graph: each node sends one edge to each of its k nearest others.

  Args:
    features: (N, D) node features.
    k: neighbours per node, 1 <= k < N.
    metric: "cosine" (on L2-normalised rows), "euclidean" or "dot".
    row_block, col_block, group: block sizes of the blockwise search and
      its two-level merge (`blockwise_topk`); they bound memory and set the
      speed. The merge is exact on the computed scores, but the block shape
      sets the matmul's float32 rounding, so two neighbours whose scores
      are within a rounding step of each other may swap places (or, at the
      k-th place, swap in and out) under other blocks. None: the backend's
      (`resolve_blocks`), the column blocks evened out over N.
    name: what to call `features` in error messages.
    row_axis, mesh: split the query rows over a mesh axis, each device
      searching its rows against all points (`xmjax.nn.sharding`); None:
      the axis `features` is sharded along under Explicit mesh axes, else
      one program (under Auto axes GSPMD would repeat the search on every
      device: pass row_axis).

  Returns:
    (senders, receivers): int32 arrays of length N * k, sorted by sender
    (node i's edges are rows i*k .. i*k+k-1, nearest first), no self loops.
    Traceable: works under jit and vmap (module docstring).
  """
  if metric not in METRICS:
    raise InputError(f"metric: unknown metric {metric!r}; choose one of {METRICS}")
  features = jnp.asarray(features)
  if features.ndim != 2:
    raise InputError(f"{name}: expected (N, D) features, got shape {features.shape}")
  n = features.shape[0]
  if not 1 <= k < n:
    raise InputError(f"k: need 1 <= k < number of nodes, got k={k} for {n} nodes of {name}")
  if is_concrete(features) and not bool(jnp.all(jnp.isfinite(features))):
    raise InputError(f"{name}: features contain NaN or Inf")
  plan = row_plan(features, row_axis, mesh, name=name)
  points, bias = prepare_points(features, metric)
  row_block, col_block, group = resolve_blocks(n, row_block, col_block, group)
  search = lambda queries, offset, keys, key_bias: blockwise_topk(
      queries, keys, key_bias, offset, k=k, row_block=max(1, min(row_block, queries.shape[0])),
      col_block=col_block, exclude_self=True, group=group)
  if plan is None:
    idx = search(whole(points), 0, whole(points), whole(bias))
  else:
    idx = map_row_shards(search, points, points, bias, plan=plan, differentiable=False)
  senders = jnp.repeat(jnp.arange(n, dtype=jnp.int32), k)
  return senders, idx.reshape(-1).astype(jnp.int32)


def topk_candidates(scores, k: int, *, name: str = "scores") -> tuple[jax.Array, jax.Array]:
  """Inter edges from each row to its k best-scoring columns.

  Args:
    scores: (N1, N2) e.g. baseline class probabilities.
    k: candidates per row, 1 <= k <= N2.

  Returns:
    (senders, receivers): int32 arrays of length N1 * k; senders are row
    indices (sorted, k each), receivers column indices, best first.
    Traceable: works under jit and vmap (module docstring).
  """
  scores = jnp.asarray(scores)
  if scores.ndim != 2:
    raise InputError(f"{name}: expected an (N1, N2) score matrix, got shape {scores.shape}")
  if not 1 <= k <= scores.shape[1]:
    raise InputError(f"k: need 1 <= k <= {scores.shape[1]} columns of {name}, got k={k}")
  if is_concrete(scores) and not bool(jnp.all(jnp.isfinite(scores))):
    raise InputError(f"{name}: scores contain NaN or Inf")
  _, idx = jax.lax.top_k(jnp.where(jnp.isnan(scores), _NAN_SCORE, scores), k)
  senders = jnp.repeat(jnp.arange(scores.shape[0], dtype=jnp.int32), k)
  return senders, idx.reshape(-1).astype(jnp.int32)


def brute_force_knn(features: np.ndarray, k: int, metric: str = "cosine") -> np.ndarray:
  """Reference (N, k) neighbour indices from the full similarity matrix (NumPy)."""
  x = np.asarray(features, np.float64)
  if metric == "cosine":
    x = x / np.maximum(np.linalg.norm(x, axis=1, keepdims=True), 1e-12)
    sim = x @ x.T
  elif metric == "euclidean":
    sim = -((x[:, None, :] - x[None, :, :]) ** 2).sum(-1)
  else:
    sim = x @ x.T
  np.fill_diagonal(sim, -np.inf)
  return np.argsort(-sim, axis=1, kind="stable")[:, :k]
