"""Benchmark workloads, one function per suite, each returning Records."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from benchmarks.harness import Record, time_jitted
from xmjax import graph as G
from xmjax.graph.knn import _blockwise_topk, _prepare
from xmjax.models import RRNet, bce_loss


def rrnet_suite(quick: bool) -> list[Record]:
  """Full-graph RR-Net train step at CIFAR-100 scale (quick: a tenth of the nodes).

  50,000 image nodes (512-d) + 100 label nodes (300-d), k1 = 20, k2 = 3,
  K = 15, d = 16, 5 units, SGD with momentum.
  """
  n1 = 5_000 if quick else 50_000
  n2, k1, k2, kk = 100, 20, 3, 15
  rng = np.random.default_rng(0)
  labels = rng.integers(0, n2, n1)
  features = rng.normal(size=(n1, 512)).astype(np.float32)
  graph = G.classification_graph(features, rng.normal(size=(n2, 300)).astype(np.float32),
                                 rng.random((n1, n2)).astype(np.float32), labels,
                                 k1=k1, k2=k2, num_candidates=kk)
  model = RRNet(latent=16, hidden=16, units="intra,inter,intra,inter,inter")
  params = model.init(jax.random.key(0), graph)
  tx = optax.chain(optax.add_decayed_weights(5e-4), optax.sgd(0.01, momentum=0.9))
  opt_state = tx.init(params)

  def train_step(params, opt_state, graph):
    loss, grads = jax.value_and_grad(
        lambda p: bce_loss(model.apply(p, graph), graph.inter_targets, graph.inter_mask))(params)
    updates, opt_state = tx.update(grads, opt_state, params)
    return optax.apply_updates(params, updates), opt_state, loss

  # No buffer donation here: the harness calls the step on the same arguments repeatedly.
  step = jax.jit(train_step)
  edges = n1 * k1 + n2 * k2 + n1 * kk
  return [time_jitted(step, (params, opt_state, graph), suite="rrnet",
                      workload="train_step_full_graph",
                      sizes=dict(n1=n1, n2=n2, k1=k1, k2=k2, K=kk, d=16, units=5),
                      work_units=edges, unit="edges/s", repeats=3 if quick else 5)]


def knn_suite(quick: bool) -> list[Record]:
  """Blockwise kNN graph (cosine), k = 20: the search itself, features on device."""
  n, d, k = (20_000, 128, 20) if quick else (100_000, 512, 20)
  points, bias = _prepare(jax.random.normal(jax.random.key(0), (n, d)), "cosine")
  search = jax.jit(functools.partial(_blockwise_topk, k=k, row_block=512, col_block=4096,
                                     exclude_self=True))
  return [time_jitted(search, (points, points, bias), suite="knn", workload="knn_graph_cosine",
                      sizes=dict(n=n, d=d, k=k, row_block=512, col_block=4096),
                      work_units=n, unit="nodes/s", repeats=2 if quick else 3,
                      analytic_flops=2.0 * n * n * d)]  # the similarity matmuls


SUITES = {"rrnet": rrnet_suite, "knn": knn_suite}
