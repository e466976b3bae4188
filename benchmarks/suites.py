"""Benchmark workloads, one function per suite, each returning Records."""

from __future__ import annotations

import functools

import jax
import jax.numpy as jnp
import numpy as np
import optax

from benchmarks.harness import Record, time_callable, time_jitted
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


def sdml_suite(quick: bool) -> list[Record]:
  """One SDML step over the five PKU XMedia modalities (real widths), all
  networks in one jitted program vs. one jitted step per modality in turn."""
  from xmjax.models.sdml import orthogonal_projection
  from xmjax.train.experiments import sdml_retrieval
  dims = {"image": 4096, "text": 3000, "audio": 29, "3d": 4700, "video": 4096}
  batch = 100
  config = sdml_retrieval.default_config()
  rng = np.random.default_rng(0)
  data = {m: (jnp.asarray(rng.normal(size=(batch, d)), jnp.float32),
              jnp.asarray(rng.integers(0, 20, batch))) for m, d in dims.items()}
  rows = np.arange(batch)
  projection = orthogonal_projection(0, 512, 20)

  def fresh(modalities):
    nets = sdml_retrieval.make_networks(config, {m: dims[m] for m in modalities})
    return sdml_retrieval.init_joint_state(config, nets, projection, 10)

  # eval_every beyond the timed steps: time the training step itself.
  step = jax.jit(functools.partial(sdml_retrieval.sdml_train_step.__wrapped__, balance=0.5,
                                   eval_every=10 ** 9))
  valid = {m: (x[:10], y[:10]) for m, (x, y) in data.items()}
  repeats = 3 if quick else 10
  joint = fresh(dims)
  records = [time_jitted(step, (joint, {m: (*data[m], rows) for m in dims}, valid),
                         suite="sdml", workload="step_5_modalities_joint",
                         sizes=dict(batch=batch, **dims), work_units=batch * len(dims),
                         unit="examples/s", repeats=repeats)]
  singles = {m: fresh((m,)) for m in dims}
  compiled = {m: step.lower(singles[m], {m: (*data[m], rows)}, {m: valid[m]}).compile()
              for m in dims}

  def one_after_another():
    out = [compiled[m](singles[m], {m: (*data[m], rows)}, {m: valid[m]}) for m in dims]
    return jax.block_until_ready(out)

  records.append(time_callable(one_after_another, suite="sdml",
                               workload="step_5_modalities_sequential",
                               sizes=dict(batch=batch, **dims), work_units=batch * len(dims),
                               unit="examples/s", impl="xmjax (one jit per modality)",
                               repeats=repeats))
  return records


SUITES["sdml"] = sdml_suite
