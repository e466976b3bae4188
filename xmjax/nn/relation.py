"""DRSL's relation network: a score for every (a, b) pair without the
(n_a, n_b, hidden) tensor.

R_pq = w . relu(W fuse(a_p, b_q) + c) + e, with fuse one of
  concat: [a; b]   ->  W[a; b] = W_a a + W_b b
  add:    a + b    ->  W(a + b) = W a + W b
  sub:    a - b    ->  W(a - b) = W a - W b
  mul:    a * b    (no decomposition: per-pair product, scored in blocks)

For concat/add/sub the first layer is computed once per item (n_a + n_b
matrix products instead of n_a * n_b), leaving relu(A_p + B_q) . w per pair;
pairs are scored in (row block x column block) tiles with `lax.map`, so
memory is bounded by the tile whatever n_a and n_b are. `naive` is the
literal per-pair form (`naive=True`), kept as the reference the fast path is
tested against.

On a mesh, the rows of `a` are split over devices with `jax.shard_map`
(`row_axis`, or the axis `a` is sharded along under Explicit axes): each
device scores its rows against all of `b`, 1/N of the tiles
(`xmjax.nn.sharding`).
"""

from __future__ import annotations

import functools
from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from xmjax.nn.sharding import RowPlan, map_row_shards, row_plan, whole

FUSIONS = ("concat", "add", "sub", "mul")


def default_block_size(platform: str | None = None) -> int:
  """Rows and columns per tile when `block_size` is 0, for `platform` (default:
  the default backend; a program compiled for another target names it):
  small tiles keep a CPU's (block, block, hidden) activations in cache (32
  measured fastest of 32/64/128 at 1000 x 1000, hidden 1024, on 2 cores:
  benchmarks/RESULTS.md); accelerators get larger ones (not yet tuned on a GPU)."""
  return 32 if (platform or jax.default_backend()) == "cpu" else 128


def _tiles(n: int, block: int) -> tuple[int, int]:
  block = max(1, min(block, n))
  return block, -n % block


class RelationNetwork(nn.Module):
  """Relation scores for all pairs of two item sets.

  Attributes:
    hidden: width of the relation MLP's hidden layer (paper: 1024).
    fusion: "concat" (default), "add", "sub" or "mul".
    block_size: rows and columns per scored tile (memory ~ block^2 * hidden);
      0 picks `default_block_size()` for the backend.
    tile_reduction: how a tile's hidden activations meet the output weights:
      "dot" (a matrix-vector product) or "fused" (multiply and sum over
      hidden, which XLA fuses with the add and relu, so the tile's
      activations never reach memory). Same arithmetic; see benchmarks.
    row_axis: mesh axis to split the rows of `a` over (each device scores
      its rows against all of `b`); None: the axis `a` is sharded along
      when its type says so (Explicit mesh axes), else one program. Under
      Auto axes GSPMD would run every tile on every device: pass it.
    mesh: the mesh of `row_axis`; None: the one set by `jax.set_mesh`.
    dtype: computation dtype; None: the inputs' and parameters' promoted
      dtype (as nn.Dense). Scores are float32 whatever it is.
    param_dtype: dtype the parameters are created in (default float32).

  Call: a (n_a, d_a), b (n_b, d_b), naive=False -> (n_a, n_b) float32 scores.
  add, sub and mul need d_a == d_b.
  """
  hidden: int = 1024
  fusion: str = "concat"
  block_size: int = 0
  dtype: Any = None
  tile_reduction: str = "dot"
  row_axis: Optional[str] = None
  mesh: Any = None
  param_dtype: Any = jnp.float32

  def _params(self, d_a: int, d_b: int, dtype):
    if self.fusion not in FUSIONS:
      raise ValueError(f"fusion: unknown {self.fusion!r}; choose one of {FUSIONS}")
    if self.fusion != "concat" and d_a != d_b:
      raise ValueError(f"fusion {self.fusion!r} needs equal widths, got {d_a} and {d_b}")
    fused = d_a + d_b if self.fusion == "concat" else d_a
    param = lambda name, init, shape: self.param(name, init, shape, self.param_dtype)
    kernel = param("first_kernel", nn.initializers.lecun_normal(), (fused, self.hidden))
    bias = param("first_bias", nn.initializers.zeros, (self.hidden,))
    out_kernel = param("out_kernel", nn.initializers.lecun_normal(), (self.hidden, 1))
    out_bias = param("out_bias", nn.initializers.zeros, (1,))
    return tuple(p.astype(dtype) for p in (kernel, bias, out_kernel, out_bias))

  @nn.compact
  def __call__(self, a: jax.Array, b: jax.Array, naive: bool = False) -> jax.Array:
    if a.ndim != 2 or b.ndim != 2:
      raise ValueError(f"RelationNetwork scores two item sets, a (n_a, d_a) and b (n_b, d_b); got "
                       f"shapes {a.shape} and {b.shape}. For batches of sets, vmap it: "
                       "jax.vmap(lambda a, b: net.apply(params, a, b))(a, b)")
    dtype = self.dtype or jnp.result_type(a.dtype, b.dtype, self.param_dtype)
    kernel, bias, out_kernel, out_bias = self._params(a.shape[-1], b.shape[-1], dtype)
    if naive:
      return self._naive(a, b, kernel, bias, out_kernel, out_bias)
    if self.tile_reduction not in ("dot", "fused"):
      raise ValueError(f"tile_reduction: unknown {self.tile_reduction!r}; choose 'dot' or 'fused'")
    a, b = a.astype(dtype), b.astype(dtype)
    w = out_kernel[:, 0]
    n_a, n_b = a.shape[0], b.shape[0]
    if n_a == 0 or n_b == 0:
      return jnp.zeros((n_a, n_b), jnp.float32)
    plan = row_plan(a, self.row_axis, self.mesh, name="RelationNetwork")
    scores = all_pair_scores(a, b, kernel, bias, w, fusion=self.fusion,
                             block=self.block_size or default_block_size(),
                             tile_reduction=self.tile_reduction, plan=plan)
    return scores + out_bias[0].astype(jnp.float32)

  def _naive(self, a, b, kernel, bias, out_kernel, out_bias):
    """The literal form: fuse every pair, then the MLP. Builds (n_a, n_b, hidden)."""
    n_a, n_b = a.shape[0], b.shape[0]
    a_all = jnp.broadcast_to(a[:, None, :], (n_a, n_b, a.shape[-1]))
    b_all = jnp.broadcast_to(b[None, :, :], (n_a, n_b, b.shape[-1]))
    fused = {"concat": lambda: jnp.concatenate([a_all, b_all], -1),
             "add": lambda: a_all + b_all, "sub": lambda: a_all - b_all,
             "mul": lambda: a_all * b_all}[self.fusion]()
    hidden = jax.nn.relu(fused @ kernel + bias)
    return (hidden @ out_kernel + out_bias)[..., 0].astype(jnp.float32)


@functools.partial(jax.jit, static_argnames=("fusion", "block", "tile_reduction", "plan"))
def all_pair_scores(a, b, kernel, bias, w, *, fusion: str, block: int, tile_reduction: str,
                    plan: Optional[RowPlan] = None) -> jax.Array:
  """RelationNetwork's (n_a, n_b) float32 scores less the output bias, in
  (block x block) tiles; the rows of `a` split over devices when `plan` says
  so. Jitted at module level, so eager calls compile once per shape (a
  flax module's loops would be traced, and compiled, anew on every call)."""
  if plan is not None:
    return map_row_shards(
        lambda rows, _, *others: _tile_scores(rows, *others, fusion, block, tile_reduction),
        a, b, kernel, bias, w, plan=plan)
  return _tile_scores(whole(a), whole(b), kernel, bias, w, fusion, block, tile_reduction)


def _tile_scores(a, b, kernel, bias, w, fusion, block, tile_reduction):
  n_a, n_b = a.shape[0], b.shape[0]
  row_block, row_pad = _tiles(n_a, block)
  col_block, col_pad = _tiles(n_b, block)

  if fusion == "mul":
    def tile_scores(a_tile, b_tile):
      fused = a_tile[:, None, :] * b_tile[None, :, :]
      return jax.nn.relu(fused @ kernel + bias) @ w
    left, right = a, b
  else:
    d_a = a.shape[-1]
    if fusion == "concat":
      left, right = a @ kernel[:d_a], b @ kernel[d_a:]
    elif fusion == "add":
      left, right = a @ kernel, b @ kernel
    else:  # sub
      left, right = a @ kernel, -(b @ kernel)
    right = right + bias

    def tile_scores(a_tile, b_tile):
      hidden = jax.nn.relu(a_tile[:, None, :] + b_tile[None, :, :])
      if tile_reduction == "fused":
        return jnp.sum(hidden * w, axis=-1, dtype=jnp.float32)
      return hidden @ w

  left = jnp.pad(left, ((0, row_pad), (0, 0))).reshape(-1, row_block, left.shape[-1])
  right = jnp.pad(right, ((0, col_pad), (0, 0))).reshape(-1, col_block, right.shape[-1])

  def row(a_tile):
    return jax.lax.map(lambda b_tile: tile_scores(a_tile, b_tile), right)  # (cols, rb, cb)

  scores = jax.lax.map(row, left)                       # (rows, cols, rb, cb)
  scores = scores.transpose(0, 2, 1, 3).reshape(left.shape[0] * row_block, -1)
  return scores[:n_a, :n_b].astype(jnp.float32)
