"""The CNN baseline trainer's steps: any task that trains an image classifier
on device-resident data (augmentation inside the step, BatchNorm statistics
over the global batch under a mesh) reuses them."""

from __future__ import annotations

import functools
from typing import Any

import jax
import jax.numpy as jnp
import optax

from xmjax.data.augment import augment
from xmjax.train.state import BatchStatsTrainState, TrainState

__all__ = ["baseline_predict", "baseline_train_step", "normalize_pixels"]


def _model_variables(state: TrainState, params) -> dict[str, Any]:
  """The variables to apply the baseline with: params, plus BatchNorm statistics if any."""
  if isinstance(state, BatchStatsTrainState):
    return {"params": params, "batch_stats": state.batch_stats}
  return {"params": params}


def normalize_pixels(images: jax.Array, pixel_stats: tuple[jax.Array, jax.Array]) -> jax.Array:
  """uint8 or float images -> float32, standardised per channel (on device)."""
  mean, std = pixel_stats
  return (images.astype(jnp.float32) - mean) / std


def baseline_train_step(state: TrainState, images: jax.Array, labels: jax.Array,
                        batch_indices: jax.Array, key: jax.Array, pixel_stats,
                        *, crop_padding: int = 0, flip: bool = False):
  """One SGD step on augmented images[batch_indices] (the data set stays on
  device; augmentation randomness is `key` folded with the step). Under a
  mesh the batch rows are sharded, and BatchNorm statistics are those of the
  global batch (XLA reduces them across devices)."""
  x, y = normalize_pixels(images[batch_indices], pixel_stats), labels[batch_indices]
  x = augment(x, jax.random.fold_in(key, state.step), crop_padding=crop_padding, flip=flip)
  has_batch_stats = isinstance(state, BatchStatsTrainState)

  def loss_fn(params):
    variables = _model_variables(state, params)
    if has_batch_stats:
      (logits, _), updates = state.apply_fn(variables, x, train=True, mutable=["batch_stats"])
    else:
      (logits, _), updates = state.apply_fn(variables, x, train=True), {}
    loss = optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    return loss, (logits, updates)

  (loss, (logits, updates)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads)
  if has_batch_stats:
    state = state.replace(batch_stats=updates["batch_stats"])
  return state, {"loss": loss, "accuracy": (jnp.argmax(logits, -1) == y).mean()}


@functools.partial(jax.jit, static_argnames=("batch_size",))
def baseline_predict(state: TrainState, images: jax.Array, pixel_stats, batch_size: int):
  """(probs (n, C), features (n, F)) in fixed-size blocks under one compile."""
  n = images.shape[0]
  padded = jnp.pad(images, ((0, -n % batch_size),) + ((0, 0),) * (images.ndim - 1))
  blocks = padded.reshape((-1, batch_size) + images.shape[1:])
  variables = _model_variables(state, state.params)

  def one_block(x):
    logits, features = state.apply_fn(variables, normalize_pixels(x, pixel_stats), train=False)
    return jax.nn.softmax(logits, -1), features

  probs, features = jax.lax.map(one_block, blocks)
  return (probs.reshape(-1, probs.shape[-1])[:n], features.reshape(-1, features.shape[-1])[:n])
