"""DRSL's training step with model selection, as `xmjax.train.runner` stages
run it: every (image, text) pair of a batch scored and fitted to S
(||R - S||_F^2), and once per epoch the validation split scored and the
variables of best criterion kept inside the jitted step.

    state = SelectingState.create(init_state(config, model, features, num_steps))
    state, metrics = drsl_selecting_step(state, *arrays, valid, image_rows, text_rows,
                                         validate_every=steps_per_epoch, select_on="valid_map")
"""

from __future__ import annotations

from typing import Any

import flax
import jax
import jax.numpy as jnp

from xmjax import metrics
from xmjax import random_streams
from xmjax.models.drsl import DRSL, drsl_loss
from xmjax.train import optim
from xmjax.train.selection import Best, keep_best
from xmjax.train.state import BatchStatsTrainState

__all__ = ["SELECTION", "SelectingState", "drsl_scores", "drsl_selecting_step",
           "drsl_train_step", "drsl_valid_metrics", "init_state"]


def drsl_train_step(state: BatchStatsTrainState, images, image_labels, texts, text_labels,
                    image_rows, text_rows, reduction: str = "sum"):
  """One step on a batch of images and a batch of texts (every pair scored)."""
  x_i, y_i = images[image_rows], image_labels[image_rows]
  x_t, y_t = texts[text_rows], text_labels[text_rows]

  def loss_fn(params):
    variables = {"params": params}
    if state.batch_stats:
      variables["batch_stats"] = state.batch_stats
      scores, updates = state.apply_fn(variables, x_i, x_t, train=True, mutable=["batch_stats"])
      return drsl_loss(scores, y_i, y_t, reduction), updates["batch_stats"]
    return drsl_loss(state.apply_fn(variables, x_i, x_t, train=True), y_i, y_t, reduction), None

  (loss, batch_stats), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads)
  if batch_stats is not None:
    state = state.replace(batch_stats=batch_stats)
  return state, {"loss": loss}


def drsl_scores(state: BatchStatsTrainState, images, texts):
  """All (image, text) relation scores: each item embedded once, pairs in tiles."""
  variables = {"params": state.params}
  if state.batch_stats:
    variables["batch_stats"] = state.batch_stats
  zi = state.apply_fn(variables, images, method=DRSL.embed_images)
  zt = state.apply_fn(variables, texts, method=DRSL.embed_texts)
  return state.apply_fn(variables, zi, zt, method=DRSL.relate)


def drsl_valid_metrics(state: BatchStatsTrainState, images, image_labels, texts, text_labels):
  """Over the validation split: the mean squared ||R - S|| of every pair,
  and the mean of the two directions' mAP@ALL."""
  scores = drsl_scores(state, images, texts)
  return {"pair_mse": drsl_loss(scores, image_labels, text_labels, "mean"),
          "map": 0.5 * (metrics.map_at_all_on_device(scores, image_labels, text_labels)
                        + metrics.map_at_all_on_device(scores.T, text_labels, image_labels))}


# What the evaluated network is: the one of best validation mAP (mean of the
# two directions), of lowest validation pair error, or the last one.
SELECTION = ("valid_map", "valid_loss", "last")


@flax.struct.dataclass
class SelectingState:
  """DRSL's train state and the variables kept by model selection: `best`
  ({"params", "batch_stats"}) scored `best_valid` (lower is better: the
  validation mAP negated, or the pair error) at step `best_step`."""
  step: jax.Array
  train: BatchStatsTrainState
  best: Any
  best_valid: jax.Array
  best_step: jax.Array

  @classmethod
  def create(cls, train: BatchStatsTrainState) -> "SelectingState":
    # Copies: the step donates its input, and one buffer may be donated once.
    best = jax.tree.map(jnp.copy, {"params": train.params, "batch_stats": train.batch_stats})
    return cls(step=train.step, train=train, best=best,
               best_valid=jnp.asarray(jnp.inf, jnp.float32),
               best_step=jnp.asarray(-1, jnp.int32))

  def selected(self) -> BatchStatsTrainState:
    """The train state holding the selected variables."""
    return self.train.replace(**self.best)


def drsl_selecting_step(state: SelectingState, images, image_labels, texts, text_labels,
                        valid, image_rows, text_rows, *, reduction: str = "sum",
                        validate_every: int, select_on: str = "valid_map"):
  """drsl_train_step, then, every `validate_every` steps, the validation
  split scored and the variables kept when `select_on` improved."""
  train, out = drsl_train_step(state.train, images, image_labels, texts, text_labels,
                               image_rows, text_rows, reduction)
  if select_on == "last":
    return state.replace(step=train.step, train=train), out

  def criterion(train):
    valid_metrics = drsl_valid_metrics(train, *valid)
    return -valid_metrics["map"] if select_on == "valid_map" else valid_metrics["pair_mse"]

  best, best_valid, best_step = keep_best(
      Best(state.best, state.best_valid, state.best_step), train.step % validate_every == 0,
      train, train.step, criterion,
      lambda train: {"params": train.params, "batch_stats": train.batch_stats})
  out[f"best_{select_on}"] = -best_valid if select_on == "valid_map" else best_valid
  return SelectingState(step=train.step, train=train, best=best, best_valid=best_valid,
                        best_step=best_step), out


def init_state(config, model, sample_images, sample_texts, num_steps) -> BatchStatsTrainState:
  """The model's variables from config.seed, its optimizer, step 0."""
  sample_i, sample_t = jnp.asarray(sample_images[:2]), jnp.asarray(sample_texts[:2])
  variables = model.init(random_streams.key(config.seed, random_streams.DRSL_INIT), sample_i, sample_t)
  state = BatchStatsTrainState.create(
      apply_fn=model.apply, params=variables["params"],
      tx=optim.make_optimizer(config.train.optimizer, num_steps),
      batch_stats=variables.get("batch_stats", flax.core.FrozenDict()))
  return state.replace(step=jnp.zeros((), jnp.int32))
