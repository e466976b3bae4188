"""kNN graph (cosine, self excluded): blocks of full similarity rows and
torch.topk (eager PyTorch), and FAISS's exact inner-product index, what
anyone building a kNN graph on CPU reaches for."""

from __future__ import annotations

import numpy as np
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


def make_faiss_knn(n: int, d: int, k: int, seed: int = 0):
  """The same points and graph with faiss.IndexFlatIP (exact search over
  L2-normalised rows = cosine), k + 1 neighbours with each point's own hit
  dropped. Building the index is inside the timed call, as the graph is
  built once per feature set."""
  import faiss
  gen = torch.Generator().manual_seed(seed)
  x = torch.nn.functional.normalize(torch.randn(n, d, generator=gen), dim=1).numpy()

  def knn():
    index = faiss.IndexFlatIP(d)
    index.add(x)
    _, neighbours = index.search(x, k + 1)
    self_hit = neighbours == np.arange(n)[:, None]
    # Drop each row's own index (ties may put it anywhere); rows without it
    # drop their last hit.
    keep = ~self_hit
    keep[~self_hit.any(1), -1] = False
    return neighbours[keep].reshape(n, k)

  return knn
