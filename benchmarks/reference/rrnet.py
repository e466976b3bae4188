"""RR-Net full-graph train step in eager PyTorch.

Two aggregations of the same model: `index_add_` scatter-sums (plain
PyTorch) and PyTorch Geometric's `torch_geometric.utils.scatter(...,
reduce="mean")` (what a GNN user reaches for; PyG's `MessagePassing`
aggregates over received edges only, while RR-Net's node update averages
every incident edge, sent and received, so the edge messages are scattered
to both ends by hand either way)."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn


def mlp(sizes):
  layers = []
  for a, b in zip(sizes[:-1], sizes[1:]):
    layers += [nn.Linear(a, b), nn.ReLU()]
  return nn.Sequential(*layers)


def aggregate_mean(edges, senders, receivers, num_nodes):
  """Mean over every incident edge (sent and received), by scatter-add."""
  total = torch.zeros(num_nodes, edges.shape[1], dtype=edges.dtype, device=edges.device)
  total.index_add_(0, senders, edges)
  total.index_add_(0, receivers, edges)
  count = torch.zeros(num_nodes, dtype=edges.dtype, device=edges.device)
  ones = torch.ones(senders.shape[0], dtype=edges.dtype, device=edges.device)
  count.index_add_(0, senders, ones)
  count.index_add_(0, receivers, ones)
  return total / count.clamp(min=1)[:, None]


def aggregate_mean_pyg(edges, senders, receivers, num_nodes):
  """The same mean by PyG's scatter over both endpoints."""
  from torch_geometric.utils import scatter
  return scatter(torch.cat([edges, edges]), torch.cat([senders, receivers]), dim=0,
                 dim_size=num_nodes, reduce="mean")


class Unit(nn.Module):
  def __init__(self, d, hidden, inter, aggregate=aggregate_mean):
    super().__init__()
    self.inter = inter
    self.aggregate = aggregate
    if inter:
      self.w = nn.Linear(2 * d, d, bias=False)
      self.edge = mlp([2 * d, hidden, d])
    else:
      self.edge = mlp([3 * d, hidden, d])
    self.node = mlp([2 * d, hidden, d])

  def forward(self, nodes, edges, senders, receivers):
    pair = torch.cat([nodes[senders], nodes[receivers]], 1)
    if self.inter:
      edges = self.edge(torch.cat([self.w(pair), edges], 1))
    else:
      edges = self.edge(torch.cat([pair, edges], 1))
    agg = self.aggregate(edges, senders, receivers, nodes.shape[0])
    return self.node(torch.cat([agg, nodes], 1)), edges


class RRNetTorch(nn.Module):
  def __init__(self, d1, d2, latent=16, hidden=16, units=("intra", "inter", "intra", "inter", "inter"),
               aggregate=aggregate_mean):
    super().__init__()
    self.enc1 = mlp([d1, hidden, latent])
    self.enc2 = mlp([d2, hidden, latent])
    self.enc_intra1 = mlp([2 * d1, hidden, latent])
    self.enc_intra2 = mlp([2 * d2, hidden, latent])
    self.enc_inter = mlp([d1 + d2, hidden, latent])
    self.kinds = units
    self.units = nn.ModuleList(Unit(latent, hidden, k == "inter", aggregate) for k in units)
    self.decoder = nn.Sequential(nn.Linear(latent, hidden), nn.ReLU(), nn.Linear(hidden, 1))

  def forward(self, g):
    n1 = g["nodes1"].shape[0]
    nodes = torch.cat([self.enc1(g["nodes1"]), self.enc2(g["nodes2"])])
    s1, r1, s2, r2 = g["intra1_s"], g["intra1_r"], g["intra2_s"], g["intra2_r"]
    intra_edges = torch.cat([
        self.enc_intra1(torch.cat([g["nodes1"][s1], g["nodes1"][r1]], 1)),
        self.enc_intra2(torch.cat([g["nodes2"][s2], g["nodes2"][r2]], 1))])
    intra_s, intra_r = torch.cat([s1, s2 + n1]), torch.cat([r1, r2 + n1])
    inter_s, inter_r = g["inter_s"], g["inter_r"] + n1
    inter_edges = self.enc_inter(torch.cat([g["nodes1"][g["inter_s"]],
                                            g["nodes2"][g["inter_r"]]], 1))
    for kind, unit in zip(self.kinds, self.units):
      if kind == "intra":
        nodes, intra_edges = unit(nodes, intra_edges, intra_s, intra_r)
      else:
        nodes, inter_edges = unit(nodes, inter_edges, inter_s, inter_r)
    return self.decoder(inter_edges)[:, 0]


def make_train_step(graph_np: dict, threads: int | None = None, device: str = "cpu",
                    pyg: bool = False, compile: bool = False):
  """graph_np: numpy arrays of an xmjax CrossModalGraph; returns step() -> loss
  (a tensor: the caller synchronises). `pyg` aggregates with PyG's scatter;
  `compile` runs the model through torch.compile (inductor; the backward
  through AOTAutograd), compiled on the first call."""
  if threads:
    torch.set_num_threads(threads)
  g = {k: torch.as_tensor(np.array(graph_np[k])).to(device) for k in ("nodes1", "nodes2")}
  for k in ("intra1_s", "intra1_r", "intra2_s", "intra2_r", "inter_s", "inter_r"):
    g[k] = torch.as_tensor(np.array(graph_np[k])).long().to(device)
  targets = torch.as_tensor(np.array(graph_np["targets"])).to(device)
  model = RRNetTorch(g["nodes1"].shape[1], g["nodes2"].shape[1],
                     aggregate=aggregate_mean_pyg if pyg else aggregate_mean).to(device)
  opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4)
  loss_fn = nn.BCEWithLogitsLoss()
  forward = torch.compile(model) if compile else model

  def step():
    opt.zero_grad(set_to_none=True)
    loss = loss_fn(forward(g), targets)
    loss.backward()
    opt.step()
    return loss.detach()

  return step
