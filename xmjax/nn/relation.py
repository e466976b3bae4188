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
memory is bounded by the tile whatever n_a and n_b are. How a tile meets
the output weights is `tile_reduction`: a matrix-vector product ("dot"), a
fused multiply-and-sum ("fused"), or ("chunked") the hidden axis walked in
chunks of `HIDDEN_CHUNK` by `lax.scan`, each chunk an unrolled sum of
w_k * relu(A_pk + B_qk) over the whole (rows, columns) tile. XLA's CPU
backend turns a chunk into one vectorised loop over the tile, with no
reduce and no (rows, columns, hidden) buffer; on 2 CPU cores it is several
times faster than the "dot" tiles, forward and backward (numbers in
benchmarks/RESULTS.md), so it is the CPU default. `naive` is the literal
per-pair form (`naive=True`), kept as the reference the fast path is
tested against.

On a mesh, the rows of `a` are split over devices with `jax.shard_map`
(`row_axis`, or the axis `a` is sharded along under Explicit axes): each
device scores its rows against all of `b`, 1/N of the tiles
(`xmjax.nn.sharding`).
"""

from __future__ import annotations

from typing import Any, Optional

import flax.linen as nn
import jax
import jax.numpy as jnp

from xmjax.nn.aggregation import is_concrete
from xmjax.nn.sharding import RowPlan, map_row_shards, row_plan, whole

FUSIONS = ("concat", "add", "sub", "mul")
TILE_REDUCTIONS = ("auto", "dot", "fused", "chunked")
# Hidden units per step of the "chunked" reduction's scan. 16 measured
# fastest of 8/16/32 on 2 CPU cores at 1000 x 1000 (8: 10x slower, the
# scan's per-step overhead exposed; 32: 10-40% slower).
HIDDEN_CHUNK = 16


# XLA options for any program that scores pairs with the "chunked" tiles.
# XLA's CPU compiler prefers 256-bit vectors even where the CPU has AVX-512;
# the chunked tile's loop over columns runs 1.6-1.8x faster with 512-bit
# ones (2-core AMD EPYC with AVX-512, jax 0.10.2: benchmarks/RESULTS.md).
# A CPU without AVX-512 keeps its widest vectors; the GPU and TPU compilers
# ignore the option. `all_pair_scores` and DRSL's programs are compiled with
# it; a program of your own that calls RelationNetwork on a CPU should pass
# it too: jax.jit(fn, compiler_options=COMPILER_OPTIONS).
COMPILER_OPTIONS = {"xla_cpu_prefer_vector_width": 512}


def default_tile_reduction(fusion: str = "concat", platform: str | None = None) -> str:
  """The tile reduction "auto" picks for `platform` (default: the default
  backend): "chunked" on CPU, where it is fastest; "dot" on accelerators
  (the matrix units; the chunked form there is the vector unit's) and for
  the "mul" fusion, which has no per-item first layer to chunk."""
  cpu = (platform or jax.default_backend()) == "cpu"
  return "chunked" if cpu and fusion != "mul" else "dot"


def default_block_size(platform: str | None = None, tile_reduction: str = "dot") -> int:
  """Rows and columns per tile when `block_size` is 0, for `platform` (default:
  the default backend; a program compiled for another target names it) and
  the resolved `tile_reduction`. On a CPU the "dot" and "fused" tiles keep
  their (block, block, hidden) activations in cache: 32 measured fastest of
  32/64/128 at 1000 x 1000, hidden 1024, on 2 cores; a "chunked" tile holds
  only its (block, block) sums, and 256 measured fastest of 128/256/512
  (benchmarks/RESULTS.md). Accelerators get 128 (not yet tuned on a device)."""
  if (platform or jax.default_backend()) != "cpu":
    return 128
  return 256 if tile_reduction == "chunked" else 32


def _tiles(n: int, block: int, even: bool = False, multiple: int = 1) -> tuple[int, int]:
  """(tile length, padding) for `n` items in tiles of at most `block`;
  `even` shrinks the tile to split `n` into as many tiles with the least
  padding (400 in tiles of 256: two of 200, not two of 256), rounded up to
  a `multiple` of items."""
  block = max(1, min(block, n))
  if even:
    block = -(-n // -(-n // block))
    block = min(-(-block // multiple) * multiple, n)
  return block, -n % block


class RelationNetwork(nn.Module):
  """Relation scores for all pairs of two item sets.

  Attributes:
    hidden: width of the relation MLP's hidden layer (paper: 1024).
    fusion: "concat" (default), "add", "sub" or "mul".
    block_size: rows and columns per scored tile (memory ~ block^2 * hidden,
      block^2 for "chunked"); 0 picks `default_block_size()` for the backend.
    tile_reduction: how a tile's hidden activations meet the output weights:
      "dot" (a matrix-vector product), "fused" (multiply and sum over
      hidden, which XLA fuses with the add and relu), "chunked" (the hidden
      axis in unrolled chunks, summed elementwise over the tile; concat,
      add and sub only), or "auto" (`default_tile_reduction()`: "chunked" on
      CPU, "dot" on accelerators). The same scores up to float summation
      order (about 5e-6 at hidden 1024); see the module docstring.
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
  tile_reduction: str = "auto"
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
    reduction = resolve_tile_reduction(self.tile_reduction, self.fusion)
    a, b = a.astype(dtype), b.astype(dtype)
    w = out_kernel[:, 0]
    n_a, n_b = a.shape[0], b.shape[0]
    if n_a == 0 or n_b == 0:
      return jnp.zeros((n_a, n_b), jnp.float32)
    plan = row_plan(a, self.row_axis, self.mesh, name="RelationNetwork")
    scores = all_pair_scores(a, b, kernel, bias, w, fusion=self.fusion,
                             block=self.block_size or default_block_size(tile_reduction=reduction),
                             tile_reduction=reduction, plan=plan)
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


def resolve_tile_reduction(tile_reduction: str, fusion: str, platform: str | None = None) -> str:
  """`tile_reduction` checked, with "auto" replaced by the platform's choice."""
  if tile_reduction not in TILE_REDUCTIONS:
    raise ValueError(f"tile_reduction: unknown {tile_reduction!r}; choose one of {TILE_REDUCTIONS}")
  if tile_reduction == "auto":
    return default_tile_reduction(fusion, platform)
  if tile_reduction == "chunked" and fusion == "mul":
    raise ValueError("tile_reduction 'chunked' needs a fusion with a per-item first layer "
                     "(concat, add or sub); 'mul' fuses every pair: use 'dot' or 'fused'")
  return tile_reduction


def all_pair_scores(a, b, kernel, bias, w, *, fusion: str, block: int, tile_reduction: str,
                    plan: Optional[RowPlan] = None) -> jax.Array:
  """RelationNetwork's (n_a, n_b) float32 scores less the output bias, in
  (block x block) tiles; the rows of `a` split over devices when `plan` says
  so. Jitted at module level, so eager calls compile once per shape (a
  flax module's loops would be traced, and compiled, anew on every call);
  an eager call's program gets `COMPILER_OPTIONS` (jax takes options only
  for a top-level program: inside a traced one, the caller's apply)."""
  eager = all(is_concrete(x) for x in (a, b, kernel, bias, w))
  scorer = _all_pair_scores_eager if eager else _all_pair_scores
  return scorer(a, b, kernel, bias, w, fusion=fusion, block=block,
                tile_reduction=tile_reduction, plan=plan)


def _all_pair_scores_body(a, b, kernel, bias, w, *, fusion, block, tile_reduction, plan):
  tile_reduction = resolve_tile_reduction(tile_reduction, fusion)
  if plan is not None:
    return map_row_shards(
        lambda rows, _, *others: _tile_scores(rows, *others, fusion, block, tile_reduction),
        a, b, kernel, bias, w, plan=plan)
  return _tile_scores(whole(a), whole(b), kernel, bias, w, fusion, block, tile_reduction)


_STATIC = ("fusion", "block", "tile_reduction", "plan")
_all_pair_scores = jax.jit(_all_pair_scores_body, static_argnames=_STATIC)
_all_pair_scores_eager = jax.jit(_all_pair_scores_body, static_argnames=_STATIC,
                                 compiler_options=COMPILER_OPTIONS)


def _tile_scores(a, b, kernel, bias, w, fusion, block, tile_reduction):
  n_a, n_b = a.shape[0], b.shape[0]
  # The chunked tiles are evened out over n (their cost is the padded tile's,
  # and they are large); the others keep their fixed tile, as measured.
  # A chunked tile's columns are its vector lanes: a whole number of 16
  # (one AVX-512 register) leaves no scalar remainder loop (125 columns
  # measured 3x slower than 128).
  even = tile_reduction == "chunked"
  row_block, row_pad = _tiles(n_a, block, even)
  col_block, col_pad = _tiles(n_b, block, even, multiple=16 if even else 1)

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
      if tile_reduction == "chunked":      # a_tile, b_tile: grouped by _hidden_chunks
        return _chunked_tile_scores(a_tile, b_tile, w_chunks)
      hidden = jax.nn.relu(a_tile[:, None, :] + b_tile[None, :, :])
      if tile_reduction == "fused":
        return jnp.sum(hidden * w, axis=-1, dtype=jnp.float32)
      return hidden @ w

  left = jnp.pad(left, ((0, row_pad), (0, 0))).reshape(-1, row_block, left.shape[-1])
  right = jnp.pad(right, ((0, col_pad), (0, 0))).reshape(-1, col_block, right.shape[-1])
  if tile_reduction == "chunked":
    left, right, w_chunks = _hidden_chunks(left, right, w)

  def row(a_tile):
    return jax.lax.map(lambda b_tile: tile_scores(a_tile, b_tile), right)  # (cols, rb, cb)

  scores = jax.lax.map(row, left)                       # (rows, cols, rb, cb)
  scores = scores.transpose(0, 2, 1, 3).reshape(left.shape[0] * row_block, -1)
  return scores[:n_a, :n_b].astype(jnp.float32)


def _hidden_chunks(left, right, w):
  """Tiled `left` (rows, rb, h) and `right` (cols, cb, h) regrouped by hidden
  chunk: (rows, chunks, rb, HIDDEN_CHUNK) and (cols, chunks, HIDDEN_CHUNK,
  cb), with `w` as (chunks, HIDDEN_CHUNK). The hidden axis is padded with
  units of weight 0, whose relu(0) * 0 adds exactly nothing."""
  pad = -left.shape[-1] % HIDDEN_CHUNK
  left = jnp.pad(left, ((0, 0), (0, 0), (0, pad)))
  right = jnp.pad(right, ((0, 0), (0, 0), (0, pad)))
  w = jnp.pad(w, (0, pad)).reshape(-1, HIDDEN_CHUNK)
  chunks = w.shape[0]
  left = left.reshape(*left.shape[:2], chunks, HIDDEN_CHUNK).transpose(0, 2, 1, 3)
  right = right.reshape(*right.shape[:2], chunks, HIDDEN_CHUNK).transpose(0, 2, 3, 1)
  return left, right, w


def _chunked_tile_scores(a_chunks, b_chunks, w_chunks):
  """One (rb, cb) tile: sum over hidden of w_k relu(A_pk + B_qk), a scan over
  chunks whose body is an unrolled elementwise sum (one fused loop over the
  tile per chunk on CPU; a reduce over a hidden axis would not fuse so).
  The first chunk's sum starts the carry (under `shard_map` a constant zero
  carry would not be typed as varying over the mesh axis as the sums are)."""
  def chunk_sum(total, a, b, w):                       # (rb, C), (C, cb), (C,)
    for k in range(HIDDEN_CHUNK):
      term = (w[k] * jax.nn.relu(a[:, k:k + 1] + b[k:k + 1, :])).astype(jnp.float32)
      total = term if total is None else total + term
    return total

  first = chunk_sum(None, a_chunks[0], b_chunks[0], w_chunks[0])
  add_chunk = lambda total, chunk: (chunk_sum(total, *chunk), None)
  return jax.lax.scan(add_chunk, first, (a_chunks[1:], b_chunks[1:], w_chunks[1:]))[0]
