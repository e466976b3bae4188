"""RR-Net's steps and predictions on the rating task: full-graph steps,
edge mini-batch steps, and test probabilities averaged over attribute draws.
Each is a plain function `(state, *batch, **static)`, jitted by the runner.

A rating r on the grid [low, high] is the soft BCE target (r - low) / (high
- low) of its inter edge (to_unit); predictions map back (from_unit).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from xmjax import graph as graph_lib, programs
from xmjax.graph.ratings import (AttributeRatings, drawn_attribute_ratings,
                                 with_rating_attributes)
from xmjax.models import bce_loss
from xmjax.train.state import TrainState

__all__ = ["edge_batch_probs", "edge_batch_step", "from_unit", "full_graph_probs",
           "full_graph_step", "held_out_targets", "probs_over_draws", "target_rows", "to_unit",
           "with_inter_edges"]


def target_rows(seed: tuple[int, ...], rows: np.ndarray, fraction: float, step: int) -> np.ndarray:
  """The seeded `fraction` of `rows` that are step `step`'s targets (held out
  of its attributes): a pure function of the step, so a resumed run draws the same."""
  rng = np.random.default_rng([*seed, step])
  return rows[rng.random(len(rows)) < fraction]


@programs.jit(static_argnames="num_edges")
def held_out_targets(edge_ids, train_weight, is_target, num_edges: int):
  """A step's loss mask over the inter edges (its targets) and the attribute
  weights of every rating (the training ratings that are not its targets)."""
  mask = jnp.zeros((num_edges,), bool).at[edge_ids].set(is_target)
  return mask, jnp.where(is_target, 0.0, train_weight)


def to_unit(ratings, rating_range):
  low, high = rating_range
  return (ratings - low) / (high - low)


def from_unit(probs, rating_range):
  low, high = rating_range
  return low + probs * (high - low)


# ----------------------------------------------------------------------------
# Steps.


def full_graph_step(state: TrainState, graph, targets, train_mask, attribute_ratings=None,
                    reduction: str = "mean"):
  """One full-graph step; the loss covers `train_mask` (the training ratings,
  or the step's targets). With `attribute_ratings` the node attributes are
  built from them inside the step (the step's other training ratings)."""
  if attribute_ratings is not None:
    graph = with_rating_attributes(graph, attribute_ratings)

  def loss_fn(params):
    logits = state.apply_fn({"params": params}, graph)
    return bce_loss(logits, targets, train_mask, reduction)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), {"loss": loss}


def with_inter_edges(graph, rows, users, items):
  """`graph` whose inter edges are the ratings `rows` (gathered on device)."""
  return graph._replace(inter=graph_lib.EdgeSet(users[rows], items[rows]))


def edge_batch_step(state: TrainState, graph, users, items, unit_ratings, attribute_ratings,
                    rows, reduction: str = "mean"):
  """One step on an edge mini-batch: the ratings `rows` are the inter graph
  (split over the devices in a data-parallel run, so each device holds its
  share of the inter edges). With `attribute_ratings` (rrnet.target_fraction
  > 0; else None) the node attributes are built inside the step from the
  training ratings other than `rows`."""
  if attribute_ratings is not None:
    held_out = attribute_ratings.weight.at[rows].set(0.0)
    graph = with_rating_attributes(graph, attribute_ratings._replace(weight=held_out))
  batch_graph = with_inter_edges(graph, rows, users, items)
  targets = unit_ratings[rows]
  mask = jnp.ones(rows.shape, bool)

  def loss_fn(params):
    return bce_loss(state.apply_fn({"params": params}, batch_graph), targets, mask, reduction)

  loss, grads = jax.value_and_grad(loss_fn)(state.params)
  return state.apply_gradients(grads=grads), {"loss": loss}


def full_graph_probs(state: TrainState, graph, edge_ids):
  """Predicted probability (rescaled rating) of the inter edges `edge_ids`."""
  return jax.nn.sigmoid(state.apply_fn({"params": state.params}, graph))[edge_ids]


def edge_batch_probs(state: TrainState, graph, users, items, rows, block: int):
  """Probabilities of the ratings `rows`, `block` at a time (each block one inter graph)."""
  n = rows.shape[0]
  blocks = jnp.pad(rows, (0, -n % block)).reshape(-1, block)

  def one_block(block_rows):
    return jax.nn.sigmoid(state.apply_fn({"params": state.params},
                                         with_inter_edges(graph, block_rows, users, items)))

  return jax.lax.map(one_block, blocks).reshape(-1)[:n]


def probs_over_draws(state, graph, attribute_ratings: AttributeRatings, key, share, *args,
                     probs_fn, draws: int, block: int | None = None):
  """`probs_fn(state, graph, *args[, block=block])` averaged over `draws` graphs
  whose attributes are drawn as in training (drawn_attribute_ratings), one
  after another under `lax.map` (one graph's activations live at a time).

  Trained on attributes built from a held-out share of the ratings, the
  network sees a different input distribution when prediction uses every
  rating; averaging over the training distribution is the prediction the
  training objective fits (the same reasoning as Monte Carlo dropout)."""
  static = {} if block is None else {"block": block}

  def one_draw(draw_key):
    drawn = with_rating_attributes(graph, drawn_attribute_ratings(attribute_ratings, draw_key,
                                                                  share))
    return probs_fn(state, drawn, *args, **static)

  return jax.lax.map(one_draw, jax.random.split(key, draws)).mean(0)


# ----------------------------------------------------------------------------
