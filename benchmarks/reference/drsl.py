"""DRSL's relation network on the materialised pair tensor (eager PyTorch)."""

from __future__ import annotations

import torch


def make_scorer(n_a: int, n_b: int, d_a: int, d_b: int, hidden: int, seed: int = 0):
  """scores() -> (n_a, n_b): relu([a_p; b_q] W + c) w + e for every pair, with
  the (n_a, n_b, d_a + d_b) concatenation and (n_a, n_b, hidden) activations
  built whole."""
  gen = torch.Generator().manual_seed(seed)
  a = torch.randn(n_a, d_a, generator=gen)
  b = torch.randn(n_b, d_b, generator=gen)
  w1 = torch.randn(d_a + d_b, hidden, generator=gen) / (d_a + d_b) ** 0.5
  c = torch.zeros(hidden)
  w2 = torch.randn(hidden, 1, generator=gen) / hidden ** 0.5

  @torch.no_grad()
  def scores():
    pairs = torch.cat([a[:, None, :].expand(n_a, n_b, d_a), b[None, :, :].expand(n_a, n_b, d_b)], -1)
    return (torch.relu(pairs @ w1 + c) @ w2)[..., 0]

  return scores
