"""The CNN baseline trainer: any task that trains an image classifier on
device-resident data (augmentation inside the step, BatchNorm statistics
over the global batch under a mesh) reuses it: `train_baseline` trains it
as a runner stage and predicts features and probabilities."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import jax
import jax.numpy as jnp
import numpy as np
import optax

from xmjax import random_streams
from xmjax.data.augment import augment
from xmjax.models import make_baseline
from xmjax.train import optim
from xmjax.train.batching import EpochBatches
from xmjax.train.runner import Run, TrainingStage, compiled
from xmjax.train.state import BatchStatsTrainState, TrainState, compute_dtype, init_train_state

__all__ = ["BaselineOutputs", "baseline_predict", "baseline_stage", "baseline_train_step",
           "normalize_pixels", "train_baseline"]


@dataclasses.dataclass(frozen=True)
class BaselineOutputs:
  """What the trained baseline says about one image set: class
  probabilities (n, C) and penultimate features (n, F)."""
  probs: np.ndarray
  features: np.ndarray


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
                        key: jax.Array, pixel_stats, batch_indices: jax.Array,
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


def baseline_stage(config, images: np.ndarray, labels: np.ndarray, pixel_stats,
                   num_classes: int) -> TrainingStage:
  """The CNN baseline of config.baseline as a runner stage (data parallel
  over config.mesh: the runner replicates the images and splits each
  step's rows)."""
  b = config.baseline
  model = make_baseline(b.arch, num_classes, compute_dtype(config.dtype), b.width)
  batches = EpochBatches((config.seed, random_streams.BASELINE_BATCHES), len(labels),
                         b.batch_size, b.num_epochs)

  def init():
    return init_train_state(model, optim.make_optimizer(b.optimizer, batches.num_steps),
                            random_streams.key(config.seed, random_streams.BASELINE_INIT),
                            jnp.asarray(images[:1], jnp.float32))

  augment_key = random_streams.key(config.seed, random_streams.AUGMENT)
  return TrainingStage(
      name="baseline", init=init, step=baseline_train_step,
      data=(images, labels, augment_key, pixel_stats), batches=batches,
      num_steps=batches.num_steps, checkpoint_every=b.checkpoint_every,
      static={"crop_padding": b.crop_padding, "flip": b.flip})


def train_baseline(run: Run, images: np.ndarray, labels: np.ndarray, pixel_stats,
                   num_classes: int, predict_on: Mapping[str, np.ndarray],
                   cache: str = "baseline/outputs.npz") -> dict[str, BaselineOutputs]:
  """Trains (or resumes) the baseline and predicts every image set in
  `predict_on`; the outputs are cached in the workdir (`cache`, as
  `<set>_probs` and `<set>_features` arrays), so a finished baseline is
  neither retrained nor rerun."""

  def compute():
    state = run.train(baseline_stage(run.config, images, labels, pixel_stats, num_classes))
    predict = compiled(baseline_predict, batch_size=run.config.baseline.eval_batch_size)
    arrays = {}
    for part, part_images in predict_on.items():
      probs, features = predict(state, jnp.asarray(part_images), pixel_stats)
      arrays[f"{part}_probs"], arrays[f"{part}_features"] = np.asarray(probs), np.asarray(features)
    return arrays

  arrays = run.cached(cache, compute)
  return {part: BaselineOutputs(arrays[f"{part}_probs"], arrays[f"{part}_features"])
          for part in predict_on}
