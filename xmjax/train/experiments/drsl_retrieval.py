"""DRSL cross-modal retrieval (two modalities: "image" and "text" roles).

Trains on mini-batches of images and texts with ||R - S||_F^2; evaluates by
scoring every test image against every test text with the blockwise relation
network, mAP@ALL and mAP@50 both ways, beside a CCA baseline from the same run.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any, Sequence

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax.configs import schemas
from xmjax.errors import InputError
from xmjax.models.drsl import DRSL, drsl_loss
from xmjax.nn.relation import FUSIONS
from xmjax.train import optim, parallel
from xmjax.train import provenance
from xmjax.train.checkpoint import Checkpointer, restore_for_eval
from xmjax.train.experiments import retrieval_common as common
from xmjax.train.logging import MetricWriter
from xmjax.train.loop import Hook, run_training
from xmjax.train.state import (BatchStatsTrainState, check_known_fields, compute_dtype,
                               save_config)

log = logging.getLogger("xmjax")


# Training depends on everything but the evaluation fields.
STAGES = (provenance.Stage("drsl", exclude=("eval.",)),)


def default_config() -> ml_collections.ConfigDict:
  """Every field a drsl_retrieval config may set (the locked schema, xmjax.configs.schemas)."""
  return schemas.schema("drsl_retrieval")


def check_config(config) -> None:
  check_known_fields(config, default_config())
  compute_dtype(config.dtype)
  if config.model.fusion not in FUSIONS:
    raise InputError(f"config.model.fusion: unknown {config.model.fusion!r}; choose one of {FUSIONS}")
  if config.train.optimizer.name not in optim.OPTIMIZERS:
    raise InputError(f"config.train.optimizer.name: unknown optimizer "
                     f"{config.train.optimizer.name!r}; choose one of {optim.OPTIMIZERS}")
  for field in ("batch_size", "num_epochs", "checkpoint_every"):
    if config.train[field] < 1:
      raise InputError(f"config.train.{field}: must be >= 1, got {config.train[field]}")


def roles(config, data) -> tuple[str, str]:
  """The (image-role, text-role) modality names."""
  names = data.modalities
  if len(names) != 2:
    raise InputError(f"config.data.modalities: DRSL relates exactly two modalities, got {list(names)}")
  return names[0], names[1]


def make_model(config, data, image_role, text_role) -> DRSL:
  m = config.model
  if m.fusion != "concat" and m.image_layers[-1] != m.text_layers[-1]:
    raise InputError(f"config.model.fusion: {m.fusion!r} needs image_layers and text_layers to "
                     f"end in the same width, got {m.image_layers[-1]} and {m.text_layers[-1]}")
  return DRSL(image_layers=tuple(m.image_layers), text_layers=tuple(m.text_layers),
              relation_hidden=m.relation_hidden, fusion=m.fusion, batch_norm=m.batch_norm,
              block_size=m.block_size, dtype=compute_dtype(config.dtype))


@functools.partial(jax.jit, donate_argnums=0, static_argnames=("reduction",))
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


@jax.jit
def drsl_scores(state: BatchStatsTrainState, images, texts):
  """All (image, text) relation scores: each item embedded once, pairs in tiles."""
  variables = {"params": state.params}
  if state.batch_stats:
    variables["batch_stats"] = state.batch_stats
  zi = state.apply_fn(variables, images, method=DRSL.embed_images)
  zt = state.apply_fn(variables, texts, method=DRSL.embed_texts)
  return state.apply_fn(variables, zi, zt, method=DRSL.relate)


@jax.jit
def drsl_valid_metrics(state: BatchStatsTrainState, images, image_labels, texts, text_labels):
  """Mean squared ||R - S|| over every validation pair (a validation curve)."""
  return {"pair_mse": drsl_loss(drsl_scores(state, images, texts), image_labels, text_labels,
                                "mean")}


def init_state(config, model, data, image_role, text_role, num_steps) -> BatchStatsTrainState:
  sample_i = jnp.asarray(data.features("train", image_role)[:2])
  sample_t = jnp.asarray(data.features("train", text_role)[:2])
  variables = model.init(jax.random.fold_in(jax.random.key(config.seed), 5), sample_i, sample_t)
  state = BatchStatsTrainState.create(
      apply_fn=model.apply, params=variables["params"],
      tx=optim.make_optimizer(config.train.optimizer, num_steps),
      batch_stats=variables.get("batch_stats", flax.core.FrozenDict()))
  return state.replace(step=jnp.zeros((), jnp.int32))


def prepare(config):
  check_config(config)
  data = common.load_data(config)
  image_role, text_role = roles(config, data)
  n = min(len(data.labels("train", image_role)), len(data.labels("train", text_role)))
  if config.train.batch_size > n:
    raise InputError(f"config.train.batch_size: {config.train.batch_size} is larger than the "
                     f"{n} training rows")
  return data, image_role, text_role


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       hooks: Sequence[Hook] = ()) -> dict[str, Any]:
  data, image_role, text_role = prepare(config)
  model = make_model(config, data, image_role, text_role)
  t = config.train
  n_i, n_t = len(data.labels("train", image_role)), len(data.labels("train", text_role))
  steps_per_epoch = max(n_i, n_t) // t.batch_size
  num_steps = t.num_epochs * steps_per_epoch
  mesh = parallel.make_mesh(config, t.batch_size)
  state = parallel.replicate(init_state(config, model, data, image_role, text_role, num_steps),
                             mesh)
  provenance.claim_stages(config, workdir, STAGES, {"drsl": common.data_files(config)})
  save_config(config, workdir)
  arrays = parallel.replicate([jnp.asarray(a) for a in (data.features("train", image_role),
                                                        data.labels("train", image_role),
                                                        data.features("train", text_role),
                                                        data.labels("train", text_role))], mesh)
  paired = n_i == n_t
  valid = parallel.replicate([jnp.asarray(a) for a in (data.features("valid", image_role),
                                                       data.labels("valid", image_role),
                                                       data.features("valid", text_role),
                                                       data.labels("valid", text_role))], mesh)

  def rows(n, stream, step):
    per_epoch = n // t.batch_size
    epoch, offset = divmod(step, per_epoch)
    order = np.random.default_rng([config.seed, stream, epoch]).permutation(n)
    return order[offset * t.batch_size:(offset + 1) * t.batch_size]

  def batch_fn(step):
    image_rows = rows(n_i, 1, step)
    # Paired data (one text per image): the same rows, so S holds the true pairs.
    text_rows = image_rows if paired else rows(n_t, 2, step)
    return (*arrays, parallel.shard_rows(image_rows, mesh), parallel.shard_rows(text_rows, mesh))

  writer = MetricWriter(workdir)
  timing = {}
  try:
    start = time.time()
    state = run_training(
        state=state, train_step=functools.partial(drsl_train_step, reduction=t.loss_reduction),
        batch_fn=batch_fn, num_steps=num_steps,
        checkpointer=Checkpointer(os.path.join(workdir, "drsl", "checkpoints")), writer=writer,
        prefix="drsl", log_every=config.log_every, checkpoint_every=t.checkpoint_every,
        hooks=hooks, eval_every=steps_per_epoch,
        eval_fn=(lambda state: drsl_valid_metrics(state, *valid))
        if len(valid[1]) and len(valid[3]) else None)
    timing["train_seconds"] = time.time() - start
  finally:
    writer.close()
  return evaluate(config, workdir, state, data, image_role, text_role, timing)


def evaluate(config, workdir, state, data, image_role, text_role, timing=None) -> dict[str, Any]:
  start = time.time()
  scores = np.asarray(drsl_scores(state, jnp.asarray(data.features("test", image_role)),
                                  jnp.asarray(data.features("test", text_role))))
  timing = dict(timing or {}, score_seconds=time.time() - start)

  def similarity(q, t):
    return scores if q == image_role else scores.T

  return common.report(config, workdir, "drsl", similarity, data, (image_role, text_role), timing)


def evaluate_workdir(config, workdir: str, step: int | None = None) -> dict[str, Any]:
  """Re-evaluates the latest (or `step`) DRSL checkpoint of a run; no training."""
  data, image_role, text_role = prepare(config)
  template = init_state(config, make_model(config, data, image_role, text_role), data,
                        image_role, text_role, 1)
  state = restore_for_eval(Checkpointer(os.path.join(workdir, "drsl", "checkpoints")), template,
                           step, workdir)
  return evaluate(config, workdir, state, data, image_role, text_role)
