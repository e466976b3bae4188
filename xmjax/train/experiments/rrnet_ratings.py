"""RR-Net for rating prediction on a social network (paper IV-C: FilmTrust, Ciao).

Graph: user nodes (intra edges = trust links) and item nodes (no intra
edges), each with 128 attributes drawn uniform in [0, 1) from the seed; inter
edges from each user to every item (`rrnet.inter = "all_items"`, FilmTrust)
or along the rated pairs (`"rated"`, Ciao). The decoder's probability on an
inter edge is the rating rescaled to [0, 1] (soft BCE target); predictions
map back to the rating scale. Test ratings are masked out of the loss (their
edges still carry messages when they are inter edges).

Training is full-graph while the inter graph has at most `rrnet.edge_budget`
edges. Above it, each step is an edge mini-batch: a fixed number of training
ratings (reshuffled every epoch) form that step's inter graph, gathered on
device from their row indices; evaluation runs every test rating in blocks of
the same size under `lax.map`. Either way each step is one compiled program.

The metrics are averaged over `data.num_splits` seeded random train/test
splits; every split is a stage with its own checkpoints, so a killed run
resumes inside the split it was in. results.json: `rrnet/test_mae`,
`rrnet/test_rmse` (mean over splits, plus `_std` and per split) and the
baseline that predicts the training mean rating, `mean/test_mae`,
`mean/test_rmse`.
"""

from __future__ import annotations

import functools
import logging
import os
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax.configs import schemas
from xmjax import graph as graph_lib
from xmjax.data import ratings as ratings_lib
from xmjax.data.synthetic import RATING_GRID, make_social_ratings
from xmjax.errors import InputError
from xmjax.models import RRNet, bce_loss
from xmjax.train import optim
from xmjax.train import provenance
from xmjax.train.checkpoint import Checkpointer, restore_for_eval
from xmjax.train.checks import check_positive
from xmjax.train.rrnet_stage import check_rrnet_model
from xmjax.train.logging import MetricWriter
from xmjax.train.loop import Hook, run_training, write_json_atomic
from xmjax.train.plots import plot_training_curves
from xmjax.train.state import (TrainState, check_known_fields, compute_dtype, create_train_state,
                               save_config)

log = logging.getLogger("xmjax")

DATASETS = ("filmtrust", "ciao", "synthetic")
INTER_MODES = ("all_items", "rated")


# The splits train one after another, each its own resumable stage, all of one config.
STAGES = (provenance.Stage("splits"),)


def default_config() -> ml_collections.ConfigDict:
  """Every field a rrnet_ratings config may set (the locked schema, xmjax.configs.schemas)."""
  return schemas.schema("rrnet_ratings")


def check_config(config: ml_collections.ConfigDict) -> None:
  check_known_fields(config, default_config())
  compute_dtype(config.dtype)
  d, r = config.data, config.rrnet
  if d.name not in DATASETS:
    raise InputError(f"config.data.name: unknown data set {d.name!r}; choose one of {DATASETS}")
  if d.name != "synthetic" and not d.dir:
    raise InputError(f"config.data.dir: set it to the directory holding the {d.name} files")
  if not 0 < d.test_fraction < 1:
    raise InputError(f"config.data.test_fraction: must be in (0, 1), got {d.test_fraction}")
  if r.inter not in INTER_MODES:
    raise InputError(f"config.rrnet.inter: unknown {r.inter!r}; choose one of {INTER_MODES}")
  check_rrnet_model(r)
  check_positive(config, ("data.num_splits", "rrnet.node_dim", "rrnet.latent", "rrnet.hidden",
                          "rrnet.edge_budget", "rrnet.edge_batch_size", "rrnet.num_steps",
                          "rrnet.checkpoint_every", "log_every"))


def data_files(config) -> list[str]:
  """The files load_ratings reads (none for generated data): stage provenance."""
  d = config.data
  names = {"filmtrust": ("ratings.txt", "trust.txt"), "ciao": ("rating.mat", "trustnetwork.mat")}
  return [os.path.join(d.dir, n) for n in names.get(d.name, ())]


def load_ratings(config) -> ratings_lib.RatingData:
  d = config.data
  if d.name == "filmtrust":
    return ratings_lib.load_librec(d.dir)
  if d.name == "ciao":
    return ratings_lib.load_ciao(d.dir)
  s = d.synthetic
  arrays = make_social_ratings(s.num_users, s.num_items, s.rank, s.ratings_per_user,
                               s.trust_per_user, s.noise, s.seed)
  r, t = arrays["ratings"], arrays["trust"]
  return ratings_lib.RatingData(
      users=r[:, 0].astype(np.int32), items=r[:, 1].astype(np.int32),
      ratings=r[:, 2].astype(np.float32), trust=t.astype(np.int32), num_users=s.num_users,
      num_items=s.num_items, grid=tuple(float(g) for g in RATING_GRID))


def random_splits(num_ratings: int, test_fraction: float, num_splits: int,
                  seed: int) -> list[np.ndarray]:
  """Per split, a boolean (R,) test mask: a seeded random test_fraction of the ratings."""
  masks = []
  for split in range(num_splits):
    order = np.random.default_rng([seed, split]).permutation(num_ratings)
    mask = np.zeros(num_ratings, bool)
    mask[order[:max(1, int(round(test_fraction * num_ratings)))]] = True
    masks.append(mask)
  return masks


# ----------------------------------------------------------------------------
# Graphs.


def base_graph(config, data: ratings_lib.RatingData) -> graph_lib.CrossModalGraph:
  """Nodes and intra edges; inter edges are added per mode."""
  rng = np.random.default_rng([config.seed, 5])
  users = rng.uniform(size=(data.num_users, config.rrnet.node_dim)).astype(np.float32)
  items = rng.uniform(size=(data.num_items, config.rrnet.node_dim)).astype(np.float32)
  order = np.argsort(data.trust[:, 0], kind="stable")
  trust = graph_lib.EdgeSet(jnp.asarray(data.trust[order, 0]), jnp.asarray(data.trust[order, 1]))
  no_edges = graph_lib.EdgeSet(jnp.zeros((0,), jnp.int32), jnp.zeros((0,), jnp.int32))
  return graph_lib.CrossModalGraph(
      nodes1=jnp.asarray(users), nodes2=jnp.asarray(items), intra1=trust, intra2=no_edges,
      inter=no_edges, inter_targets=jnp.zeros((0,), jnp.float32),
      inter_mask=jnp.zeros((0,), bool), node1_mask=jnp.ones((data.num_users,), bool))


def num_inter_edges(config, data) -> int:
  if config.rrnet.inter == "all_items":
    return data.num_users * data.num_items
  return len(data.ratings)


def rating_edge_ids(config, data) -> np.ndarray:
  """(R,) the inter edge of each rating in the full inter graph."""
  if config.rrnet.inter == "all_items":
    return data.users.astype(np.int64) * data.num_items + data.items
  return np.arange(len(data.ratings))


def full_graph(config, data, graph) -> graph_lib.CrossModalGraph:
  if config.rrnet.inter == "all_items":
    senders = np.repeat(np.arange(data.num_users, dtype=np.int32), data.num_items)
    receivers = np.tile(np.arange(data.num_items, dtype=np.int32), data.num_users)
  else:
    senders, receivers = data.users, data.items
  inter = graph_lib.EdgeSet(jnp.asarray(senders), jnp.asarray(receivers))
  return graph._replace(inter=inter)


def to_unit(ratings, rating_range):
  low, high = rating_range
  return (ratings - low) / (high - low)


def from_unit(probs, rating_range):
  low, high = rating_range
  return low + probs * (high - low)


# ----------------------------------------------------------------------------
# Steps.


@functools.partial(jax.jit, donate_argnums=0, static_argnames=("reduction",))
def full_graph_step(state: TrainState, graph, targets, train_mask, reduction: str = "mean"):
  """One full-graph step; the loss covers the training ratings only."""

  def loss_fn(params):
    logits = state.apply_fn({"params": params}, graph)
    return bce_loss(logits, targets, train_mask, reduction)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), {"loss": loss}


def _with_inter_edges(graph, rows, users, items):
  """`graph` whose inter edges are the ratings `rows` (gathered on device)."""
  return graph._replace(inter=graph_lib.EdgeSet(users[rows], items[rows]))


@functools.partial(jax.jit, donate_argnums=0, static_argnames=("reduction",))
def edge_batch_step(state: TrainState, graph, users, items, unit_ratings, rows,
                    reduction: str = "mean"):
  """One step on an edge mini-batch: the ratings `rows` are the inter graph."""
  batch_graph = _with_inter_edges(graph, rows, users, items)
  targets = unit_ratings[rows]
  mask = jnp.ones(rows.shape, bool)

  def loss_fn(params):
    return bce_loss(state.apply_fn({"params": params}, batch_graph), targets, mask, reduction)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), {"loss": loss}


@jax.jit
def full_graph_probs(state: TrainState, graph, edge_ids):
  """Predicted probability (rescaled rating) of the inter edges `edge_ids`."""
  return jax.nn.sigmoid(state.apply_fn({"params": state.params}, graph))[edge_ids]


@functools.partial(jax.jit, static_argnames=("block",))
def edge_batch_probs(state: TrainState, graph, users, items, rows, block: int):
  """Probabilities of the ratings `rows`, `block` at a time (each block one inter graph)."""
  n = rows.shape[0]
  blocks = jnp.pad(rows, (0, -n % block)).reshape(-1, block)

  def one_block(block_rows):
    return jax.nn.sigmoid(state.apply_fn({"params": state.params},
                                         _with_inter_edges(graph, block_rows, users, items)))

  return jax.lax.map(one_block, blocks).reshape(-1)[:n]


# ----------------------------------------------------------------------------


class Problem:
  """The data, graph and mode of one run, shared by its splits."""

  def __init__(self, config):
    check_config(config)
    self.config = config
    self.data = load_ratings(config)
    if len(self.data.ratings) < 2:
      raise InputError(f"config.data: {len(self.data.ratings)} ratings; need at least 2")
    self.test_masks = random_splits(len(self.data.ratings), config.data.test_fraction,
                                    config.data.num_splits, config.data.split_seed)
    self.unit_ratings = to_unit(self.data.ratings, self.data.rating_range).astype(np.float32)
    self.graph = base_graph(config, self.data)
    self.minibatch = num_inter_edges(config, self.data) > config.rrnet.edge_budget
    if self.minibatch:
      self.users = jnp.asarray(self.data.users)
      self.items = jnp.asarray(self.data.items)
    else:
      self.graph = full_graph(config, self.data, self.graph)
      self.edge_ids = rating_edge_ids(config, self.data)
    log.info("%d users, %d items, %d ratings, %d trust links; %s training",
             self.data.num_users, self.data.num_items, len(self.data.ratings),
             len(self.data.trust), "edge mini-batch" if self.minibatch else "full-graph")

  def batch_size(self, split: int) -> int:
    return int(min(self.config.rrnet.edge_batch_size, (~self.test_masks[split]).sum()))

  def initial_state(self, split: int) -> TrainState:
    r = self.config.rrnet
    model = RRNet(latent=r.latent, hidden=r.hidden, units=r.units, aggregation=r.aggregation,
                  fixed_degree=False, layer_norm=r.layer_norm,
                  dtype=compute_dtype(self.config.dtype))
    graph = self.graph
    if self.minibatch:
      graph = _with_inter_edges(graph, jnp.zeros((1,), jnp.int32), self.users, self.items)
    key = jax.random.fold_in(jax.random.key(self.config.seed), 100 + split)
    params = model.init(key, graph)["params"]
    return create_train_state(model.apply, params, optim.make_optimizer(r.optimizer, r.num_steps))

  def train(self, split, workdir, writer, hooks) -> TrainState:
    r = self.config.rrnet
    train_rows = np.flatnonzero(~self.test_masks[split])
    if self.minibatch:
      size = self.batch_size(split)
      per_epoch = len(train_rows) // size
      unit = jnp.asarray(self.unit_ratings)

      def batch_fn(step):
        epoch, offset = divmod(step, per_epoch)
        order = np.random.default_rng([self.config.seed, split, epoch]).permutation(train_rows)
        rows = order[offset * size:(offset + 1) * size].astype(np.int32)
        return self.graph, self.users, self.items, unit, jnp.asarray(rows)

      step_fn = functools.partial(edge_batch_step, reduction=r.loss_reduction)
    else:
      num_edges = self.graph.inter.senders.shape[0]
      targets = np.zeros(num_edges, np.float32)
      mask = np.zeros(num_edges, bool)
      targets[self.edge_ids[train_rows]] = self.unit_ratings[train_rows]
      mask[self.edge_ids[train_rows]] = True
      batch = (self.graph, jnp.asarray(targets), jnp.asarray(mask))
      batch_fn = lambda step: batch
      step_fn = functools.partial(full_graph_step, reduction=r.loss_reduction)
    return run_training(
        state=self.initial_state(split), train_step=step_fn, batch_fn=batch_fn,
        num_steps=r.num_steps, checkpointer=self.checkpointer(workdir, split), writer=writer,
        prefix=f"split{split}", log_every=self.config.log_every,
        checkpoint_every=r.checkpoint_every, hooks=hooks)

  def checkpointer(self, workdir, split) -> Checkpointer:
    return Checkpointer(os.path.join(workdir, f"split{split}", "checkpoints"))

  def predict(self, state, split) -> np.ndarray:
    """Predicted ratings (original scale) of the split's test ratings, every one."""
    rows = np.flatnonzero(self.test_masks[split])
    if self.minibatch:
      probs = edge_batch_probs(state, self.graph, self.users, self.items,
                               jnp.asarray(rows, jnp.int32), block=self.batch_size(split))
    else:
      probs = full_graph_probs(state, self.graph, jnp.asarray(self.edge_ids[rows]))
    return from_unit(np.asarray(probs, np.float64), self.data.rating_range)

  def split_metrics(self, state, split) -> dict[str, float]:
    test = self.test_masks[split]
    truth = self.data.ratings[test].astype(np.float64)
    predicted = self.predict(state, split)
    mean = float(self.data.ratings[~test].mean())
    return {"rrnet/test_mae": float(np.abs(predicted - truth).mean()),
            "rrnet/test_rmse": float(np.sqrt(((predicted - truth) ** 2).mean())),
            "mean/test_mae": float(np.abs(mean - truth).mean()),
            "mean/test_rmse": float(np.sqrt(((mean - truth) ** 2).mean())),
            "num_test_ratings": int(test.sum())}


def train_and_evaluate(config, workdir: str, hooks: Sequence[Hook] = ()) -> dict[str, Any]:
  problem = Problem(config)
  provenance.claim_stages(config, workdir, STAGES, {"splits": data_files(config)})
  save_config(config, workdir)
  writer = MetricWriter(workdir)
  states = []
  try:
    for split in range(config.data.num_splits):
      states.append(problem.train(split, workdir, writer, hooks))
  finally:
    writer.close()
  return write_results(problem, workdir, states)


def write_results(problem: Problem, workdir: str, states) -> dict[str, Any]:
  per_split = [problem.split_metrics(state, split) for split, state in enumerate(states)]
  results = {"config": problem.config.name, "seed": problem.config.seed,
             "training": "edge_minibatch" if problem.minibatch else "full_graph",
             "num_test_ratings": sum(m["num_test_ratings"] for m in per_split)}
  for key in ("rrnet/test_mae", "rrnet/test_rmse", "mean/test_mae", "mean/test_rmse"):
    values = np.array([m[key] for m in per_split])
    results[key] = float(values.mean())
    results[f"{key}_std"] = float(values.std())
    for split, value in enumerate(values):
      results[f"{key}_split{split}"] = float(value)
  write_json_atomic(os.path.join(workdir, "results.json"), results)
  plot_training_curves(workdir)
  return results


def evaluate_workdir(config, workdir: str, step: int | None = None) -> dict[str, Any]:
  problem = Problem(config)
  states = [restore_for_eval(problem.checkpointer(workdir, split), problem.initial_state(split),
                             step, workdir) for split in range(config.data.num_splits)]
  return write_results(problem, workdir, states)
