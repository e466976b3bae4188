"""RR-Net's stages on rating prediction over a social network (paper IV-C:
FilmTrust, Ciao): `RatingSplits`, the graph of a ratings run and one
resumable stage per seeded train/test split.

Graph: user nodes (intra edges = trust links) and item nodes (no intra
edges), each with 128 attributes drawn uniform in [0, 1) from the seed (the
paper), or (`rrnet.node_attributes="ratings"`) each user's row and each
item's column of the split's centred training ratings, divided by their
count; inter edges from each user to every item (`rrnet.inter =
"all_items"`, FilmTrust), along the rated pairs (`"rated"`, Ciao), or along
the rated pairs plus `rrnet.unrated_per_user` seeded unrated items per user
(`"rated_sampled"`: unrated message paths as all_items has, at a fraction
of its edges). A full inter graph above `rrnet.edge_chunk_size` edges runs
RR-Net's inter-edge blocks in chunks (xmjax.nn.chunked; same numbers). The
decoder's probability on an inter edge is the rating rescaled to [0, 1]
(soft BCE target); predictions map back to the rating scale. Test ratings
are masked out of the loss and never enter the attributes (their edges
still carry messages when they are inter edges).

With rating attributes a training rating would sit in the attributes of
both ends of the edge that predicts it, which no test rating does: the
network learns to read its target back. `rrnet.target_fraction` closes that
gap: each step a seeded share of the training ratings are the targets and
are left out of the attributes the step builds (on device, inside the
jitted step). Prediction uses every training rating, or
(`rrnet.prediction_draws`) averages over attribute draws made as a training
step makes them: the input distribution the network was trained on.
`rrnet.inter_product` adds the elementwise product of the endpoints to the
inter-edge layers (`xmjax.nn.InterEdgeLayer`; no gain measured with the
shipped settings).

Training is full-graph while the inter graph has at most `rrnet.edge_budget`
edges. Above it, each step is an edge mini-batch: a fixed number of training
ratings (reshuffled every epoch) form that step's inter graph, gathered on
device from their row indices; evaluation runs every test rating in blocks of
the same size under `lax.map`. Either way each step is one compiled program.
"""

from __future__ import annotations

import logging

import jax.numpy as jnp
import numpy as np

from xmjax import graph as graph_lib
from xmjax import random_streams
from xmjax.data import ratings as ratings_lib
from xmjax.errors import InputError
from xmjax.graph import ratings as rating_graph
from xmjax.graph.ratings import AttributeRatings, split_attribute_ratings, with_rating_attributes
from xmjax.models import RRNet
from xmjax.models.build import from_config
from xmjax.train import optim
from xmjax.train.batching import epoch_batch_rows
from xmjax.train.rrnet_rating_steps import (edge_batch_probs, edge_batch_step, from_unit,
                                           full_graph_probs, full_graph_step, held_out_targets,
                                           probs_over_draws, target_rows, to_unit,
                                           with_inter_edges)
from xmjax.train.runner import TrainingStage, compiled
from xmjax.train.state import TrainState, compute_dtype, create_train_state

log = logging.getLogger("xmjax")

__all__ = ["RatingSplits"]


class RatingSplits:
  """A ratings run's data, its seeded train/test splits and its social graph,
  shared by the splits' stages; `stage(split)` and `predict(state, split)`
  train and evaluate RR-Net on one split. The config is the rrnet_ratings
  schema's (checked: `xmjax.train.experiments.rrnet_ratings.prepare`)."""

  def __init__(self, config):
    self.config = config
    self.data = ratings_lib.load_rating_data(config.data)
    if len(self.data.ratings) < 2:
      raise InputError(f"config.data: {len(self.data.ratings)} ratings; need at least 2")
    self.test_masks = ratings_lib.random_splits(
        len(self.data.ratings), config.data.test_fraction, config.data.num_splits,
        config.data.split_seed)
    self.unit_ratings = to_unit(self.data.ratings, self.data.rating_range).astype(np.float32)
    r = config.rrnet
    self.graph = rating_graph.social_graph(
        self.data, *rating_graph.random_attributes(self.data, r.node_dim, config.seed))
    # (split, its graph, its AttributeRatings) under node_attributes="ratings"
    self._split = (None, None, None)
    self.minibatch = (rating_graph.num_inter_edges(self.data, r.inter, r.unrated_per_user)
                      > r.edge_budget)
    if self.minibatch:
      self.users = jnp.asarray(self.data.users)
      self.items = jnp.asarray(self.data.items)
    self.edge_chunks = 0
    if not self.minibatch:
      senders, receivers = rating_graph.inter_pairs(self.data, r.inter, r.unrated_per_user,
                                                    config.seed)
      self.graph = self.graph._replace(
          inter=graph_lib.EdgeSet(jnp.asarray(senders), jnp.asarray(receivers)))
      self.edge_ids = rating_graph.rating_edge_ids(self.data, r.inter)
      self.edge_chunks = rating_graph.num_edge_chunks(int(self.graph.inter.senders.shape[0]),
                                                      r.edge_chunk_size)
    log.info("%d users, %d items, %d ratings, %d trust links; %s training%s",
             self.data.num_users, self.data.num_items, len(self.data.ratings),
             len(self.data.trust), "edge mini-batch" if self.minibatch else "full-graph",
             f", inter edges in {self.edge_chunks} chunks" if self.edge_chunks else "")

  def split_graph(self, split: int):
    """The graph of one split. With `rrnet.node_attributes="ratings"` its
    node attributes are the split's training ratings (rating_attributes);
    test ratings never enter them."""
    if self.config.rrnet.node_attributes == "random":
      return self.graph
    return self._split_arrays(split)[0]

  def attribute_ratings(self, split: int) -> AttributeRatings:
    """The split's ratings as attributes see them (split_attribute_ratings)."""
    return self._split_arrays(split)[1]

  def _split_arrays(self, split: int):
    # Init, training and prediction of a split all ask for them; the splits
    # run one after another, so one copy of the attributes is kept, not five.
    if self._split[0] != split:
      train_rows = np.flatnonzero(~self.test_masks[split])
      ratings = split_attribute_ratings(self.data, train_rows)
      graph = with_rating_attributes(self.graph, ratings, self.config.rrnet.attribute_layout)
      self._split = (split, graph, ratings)
    return self._split[1:]

  def batch_size(self, split: int) -> int:
    return int(min(self.config.rrnet.edge_batch_size, (~self.test_masks[split]).sum()))

  def initial_state(self, split: int) -> TrainState:
    r = self.config.rrnet
    model = from_config(RRNet, r, fixed_degree=False, dtype=compute_dtype(self.config.dtype),
                        edge_chunks=self.edge_chunks)
    graph = self.split_graph(split)
    if self.minibatch:
      graph = with_inter_edges(graph, jnp.zeros((1,), jnp.int32), self.users, self.items)
    key = random_streams.key(self.config.seed, random_streams.RATING_INIT + split)
    params = model.init(key, graph)["params"]
    return create_train_state(model.apply, params, optim.make_optimizer(r.optimizer, r.num_steps))

  def stage(self, split: int) -> TrainingStage:
    """RR-Net on one split's training ratings: full-graph, or edge mini-batches
    reshuffled every epoch."""
    r = self.config.rrnet
    train_rows = np.flatnonzero(~self.test_masks[split])
    graph = self.split_graph(split)
    # rrnet.target_fraction > 0: each step's targets are left out of the node
    # attributes it sees, as every test rating is (the task checks node_attributes).
    attribute_ratings = self.attribute_ratings(split) if r.target_fraction > 0 else None
    if self.minibatch:
      size = self.batch_size(split)
      unit = jnp.asarray(self.unit_ratings)

      # Data parallel over config.mesh: the runner replicates the graph and
      # splits each step's rating rows over the devices.
      data = (graph, self.users, self.items, unit, attribute_ratings)
      batches = lambda step: (epoch_batch_rows((self.config.seed, split), train_rows, size,
                                               step).astype(np.int32),)
      step_fn, placement = edge_batch_step, "data_parallel"
    else:
      num_edges = self.graph.inter.senders.shape[0]
      targets = np.zeros(num_edges, np.float32)
      mask = np.zeros(num_edges, bool)
      targets[self.edge_ids[train_rows]] = self.unit_ratings[train_rows]
      mask[self.edge_ids[train_rows]] = True
      targets, mask = jnp.asarray(targets), jnp.asarray(mask)
      if attribute_ratings is None:
        batches = lambda step: (graph, targets, mask, None)
      else:
        edge_ids = jnp.asarray(self.edge_ids)

        def batches(step):
          # Only the (R,) target flags cross to the device; the (E,) loss mask
          # and the attribute weights are made there.
          is_target = np.zeros(len(self.data.ratings), bool)
          is_target[target_rows((self.config.seed, split, random_streams.RATING_TARGETS), train_rows, r.target_fraction,
                                step)] = True
          step_mask, weight = held_out_targets(edge_ids, attribute_ratings.weight,
                                                jnp.asarray(is_target), num_edges)
          return graph, targets, step_mask, attribute_ratings._replace(weight=weight)
      # Full-graph: every step is the whole graph, on one device.
      step_fn, data, placement = full_graph_step, (), "as_given"
    return TrainingStage(
        name=f"split{split}", init=lambda: self.initial_state(split), step=step_fn,
        batches=batches, num_steps=r.num_steps, checkpoint_every=r.checkpoint_every,
        static={"reduction": r.loss_reduction}, data=data, placement=placement)

  def held_out_share(self, split: int) -> float:
    """The share of the training ratings a training step leaves out of its
    attributes (rrnet.target_fraction, or one edge mini-batch)."""
    if self.minibatch:
      return self.batch_size(split) / int((~self.test_masks[split]).sum())
    return float(self.config.rrnet.target_fraction)

  def predict(self, state, split) -> np.ndarray:
    """Predicted ratings (original scale) of the split's test ratings, every
    one. With `rrnet.prediction_draws` the probabilities are averaged over
    that many attribute draws made as in training (probs_over_draws); else
    the attributes hold every training rating."""
    rows = np.flatnonzero(self.test_masks[split])
    if self.minibatch:
      probs_fn, static = edge_batch_probs, {"block": self.batch_size(split)}
      args = (self.users, self.items, jnp.asarray(rows, jnp.int32))
    else:
      probs_fn, static, args = full_graph_probs, {}, (jnp.asarray(self.edge_ids[rows]),)
    draws = self.config.rrnet.prediction_draws
    if draws:
      key = random_streams.key(self.config.seed, random_streams.RATING_PREDICTION + split)
      probs = compiled(probs_over_draws, probs_fn=probs_fn, draws=draws, **static)(
          state, self.split_graph(split), self.attribute_ratings(split), key,
          self.held_out_share(split), *args)
    else:
      probs = compiled(probs_fn, **static)(state, self.split_graph(split), *args)
    return from_unit(np.asarray(probs, np.float64), self.data.rating_range)
