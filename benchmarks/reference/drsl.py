"""DRSL's relation network in eager PyTorch, two ways.

`make_scorer`: what a competent PyTorch user writes: the first layer split
over the concatenation (A = a W_a, B = b W_b + c, once per item), then
relu(A_p + B_q) . w for a chunk of rows at a time, so memory is one
(chunk, n_b, hidden) buffer. This is the throughput reference.

`make_materialised_scorer`: the literal per-pair form, building the
(n_a, n_b, d_a + d_b) concatenation and (n_a, n_b, hidden) activations whole.
Kept only as the memory comparison (it does not fit at 4000 x 4000).
"""

from __future__ import annotations

import torch


def _weights(n_a, n_b, d_a, d_b, hidden, seed, device):
  gen = torch.Generator().manual_seed(seed)
  a = torch.randn(n_a, d_a, generator=gen)
  b = torch.randn(n_b, d_b, generator=gen)
  w1 = torch.randn(d_a + d_b, hidden, generator=gen) / (d_a + d_b) ** 0.5
  c = torch.zeros(hidden)
  w2 = torch.randn(hidden, 1, generator=gen) / hidden ** 0.5
  return [t.to(device) for t in (a, b, w1, c, w2)]


def make_scorer(n_a: int, n_b: int, d_a: int, d_b: int, hidden: int, seed: int = 0,
                row_chunk: int = 16, device: str = "cpu"):
  """scores() -> (n_a, n_b) by the decomposed first layer, `row_chunk` rows at
  a time, into one preallocated (row_chunk, n_b, hidden) buffer with an
  in-place relu and a matrix-vector product straight into the output (on 2
  CPU cores this was 1.5-2.5x faster than the allocating
  `(relu(A[c, None] + B) @ w)` form)."""
  a, b, w1, c, w2 = _weights(n_a, n_b, d_a, d_b, hidden, seed, device)
  w = w2[:, 0].contiguous()
  buffer = torch.empty(row_chunk, n_b, hidden, device=a.device)

  @torch.no_grad()
  def scores():
    left = a @ w1[:d_a]                                    # (n_a, hidden)
    right = b @ w1[d_a:] + c                               # (n_b, hidden)
    out = torch.empty(n_a, n_b, device=a.device)
    for start in range(0, n_a, row_chunk):
      rows = min(row_chunk, n_a - start)
      block = buffer[:rows]
      torch.add(left[start:start + rows, None, :], right[None], out=block)
      block.relu_()
      torch.matmul(block.view(-1, hidden), w, out=out[start:start + rows].view(-1))
    return out

  return scores


def make_materialised_scorer(n_a: int, n_b: int, d_a: int, d_b: int, hidden: int,
                             seed: int = 0, device: str = "cpu"):
  """scores() -> (n_a, n_b): relu([a_p; b_q] W + c) w for every pair, built whole."""
  a, b, w1, c, w2 = _weights(n_a, n_b, d_a, d_b, hidden, seed, device)

  @torch.no_grad()
  def scores():
    pairs = torch.cat([a[:, None, :].expand(n_a, n_b, d_a), b[None, :, :].expand(n_a, n_b, d_b)], -1)
    return (torch.relu(pairs @ w1 + c) @ w2)[..., 0]

  return scores


def make_compiled_scorer(n_a: int, n_b: int, d_a: int, d_b: int, hidden: int, seed: int = 0,
                         row_chunk: int = 64, device: str = "cpu"):
  """scores() -> (n_a, n_b): the decomposed first layer, then
  relu(A_i + B_j) . w written as one pointwise-and-reduce expression and
  handed to torch.compile, whose inductor backend can fuse it into a single
  reduction kernel (no (rows, n_b, hidden) buffer); `row_chunk` rows per
  call bound the memory if it does not fuse. Compiled on the first call."""
  a, b, w1, c, w2 = _weights(n_a, n_b, d_a, d_b, hidden, seed, device)
  w = w2[:, 0].contiguous()

  @torch.compile
  def block_scores(left, right, w):
    return (torch.relu(left[:, None, :] + right[None]) * w).sum(-1)

  @torch.no_grad()
  def scores():
    left = a @ w1[:d_a]
    right = b @ w1[d_a:] + c
    return torch.cat([block_scores(left[start:start + row_chunk], right, w)
                      for start in range(0, n_a, row_chunk)])

  return scores
