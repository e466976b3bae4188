"""RACG pair scoring the straightforward way (eager PyTorch).

For each pair the integrated graph over its n = R + L nodes is built and run
as written: every map (kappa/mu of the three graphs, W1, W2) is applied to
the pair's nodes, the (n, n) adjacency is assembled from the blocks of eq. 10
and the GCN of eq. 11 runs on it; pairs are batched (one image against a
block of captions at a time), not looped one by one.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def make_scorer(n_images: int, n_captions: int, regions: int = 36, words: int = 12,
                d: int = 1024, heads: int = 64, caption_block: int = 50, seed: int = 0,
                device: str = "cpu"):
  """scores() -> (n_images, n_captions), the default xmjax model's arithmetic
  (eq. 10-11 with both 1/n factors as written; a node's degree is its
  neighbour count under the graph's mask)."""
  gen = torch.Generator().manual_seed(seed)
  randn = lambda *s: torch.randn(*s, generator=gen).to(device)
  h_img = randn(n_images, regions, d)
  h_cap = randn(n_captions, words, d)
  link = (torch.rand(n_captions, words, generator=gen) < 0.4).to(device)
  link[:, 0] = True
  heads_idx = torch.arange(words) - 1                      # chain dependencies
  w = {name: randn(d, d) / d ** 0.5 for name in
       ("kv", "mv", "kt", "mt", "kc", "mc", "w1", "w2")}
  bias = torch.zeros(d, device=device)
  fc1, fc2 = randn(heads, heads) / heads ** 0.5, randn(heads, 1) / heads ** 0.5
  idx = torch.arange(words)
  text_adj = ((idx[:, None] == idx) | (heads_idx[:, None] == idx)
              | (heads_idx[None, :] == idx[:, None])).to(device)

  def block_softmax(logits, mask):
    logits = logits.masked_fill(~mask, float("-inf"))
    out = torch.softmax(logits, -1)
    return torch.nan_to_num(out, nan=0.0)

  def head_sim(h, r):
    p = h.shape[:-1]
    cos = F.cosine_similarity(h.reshape(*p, heads, -1), r.reshape(*p, heads, -1), dim=-1)
    return (torch.tanh(cos @ fc1) @ fc2)[..., 0]

  @torch.no_grad()
  def score_block(i, caps):
    p = len(caps)
    hr = h_img[i].expand(p, regions, d)
    hw = h_cap[caps]
    lk = link[caps]
    nodes = torch.cat([hr, hw], 1)                           # (p, n, d)
    n = regions + words
    a = torch.zeros(p, n, n, device=device)
    a[:, :regions, :regions] = block_softmax((hr @ w["kv"]) @ (hr @ w["mv"]).transpose(1, 2),
                                             torch.ones(regions, regions, dtype=torch.bool, device=device))
    a[:, regions:, regions:] = block_softmax((hw @ w["kt"]) @ (hw @ w["mt"]).transpose(1, 2),
                                             text_adj)
    a[:, :regions, regions:] = block_softmax((hr @ w["kc"]) @ (hw @ w["mc"]).transpose(1, 2),
                                             lk[:, None, :].expand(p, regions, words))
    a[:, regions:, :regions] = block_softmax((hw @ w["kc"]) @ (hr @ w["mc"]).transpose(1, 2),
                                             lk[:, :, None].expand(p, words, regions))
    neighbours = torch.zeros(p, n, n, dtype=torch.bool, device=device)
    neighbours[:, :regions, :regions] = True
    neighbours[:, regions:, regions:] = text_adj
    neighbours[:, :regions, regions:] = lk[:, None, :]
    neighbours[:, regions:, :regions] = lk[:, :, None]
    degree = neighbours.sum(-1, keepdim=True).float()
    # eq. 10's 1/n inside A, eq. 11's 1/n outside the sum: (A/n W1 h + h) / n.
    c = ((a @ (nodes @ w["w1"])) @ w["w2"] / n + degree * (nodes @ w["w2"])) / n + bias
    c = F.normalize(c, dim=-1)
    recon = torch.softmax(4.0 * F.normalize(nodes, dim=-1) @ c.transpose(1, 2), -1) @ c
    s = head_sim(nodes, recon)
    return 0.5 * (s[:, :regions].mean(1) + s[:, regions:].mean(1))

  def scores():
    out = torch.empty(n_images, n_captions, device=device)
    for i in range(n_images):
      for start in range(0, n_captions, caption_block):
        caps = torch.arange(start, min(start + caption_block, n_captions), device=device)
        out[i, caps] = score_block(i, caps)
    return out

  return scores
