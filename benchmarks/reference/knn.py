"""kNN graph by blocks of full similarity rows and torch.topk (eager PyTorch)."""

from __future__ import annotations

import torch


def make_knn(n: int, d: int, k: int, row_block: int = 2048, seed: int = 0, device: str = "cpu"):
  gen = torch.Generator().manual_seed(seed)
  x = torch.nn.functional.normalize(torch.randn(n, d, generator=gen), dim=1).to(device)

  @torch.no_grad()
  def knn():
    out = []
    for start in range(0, n, row_block):
      sims = x[start:start + row_block] @ x.T
      rows = torch.arange(start, min(start + row_block, n), device=x.device)
      sims[rows - start, rows] = -float("inf")
      out.append(torch.topk(sims, k, dim=1).indices)
    return torch.cat(out)

  return knn
