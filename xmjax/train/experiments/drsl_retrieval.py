"""DRSL cross-modal retrieval (two modalities: "image" and "text" roles).

Trains on mini-batches of images and texts with ||R - S||_F^2; evaluates by
scoring every test image against every test text with the blockwise relation
network, mAP@ALL and mAP@50 both ways, beside a CCA baseline from the same run.
"""

from __future__ import annotations

import logging
from typing import Any

import flax
import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax.configs import schemas
from xmjax.errors import InputError
from xmjax.models.drsl import DRSL, drsl_loss
from xmjax.train import optim, parallel, provenance
from xmjax.train.batching import epoch_batch_rows
from xmjax.train.experiments import retrieval_common as common
from xmjax.train.runner import Run, Task, TrainingStage, compiled
from xmjax.train.state import BatchStatsTrainState, compute_dtype

log = logging.getLogger("xmjax")


# Training depends on everything but the evaluation fields.
STAGES = (provenance.Stage("drsl", exclude=("eval.",)),)


def default_config() -> ml_collections.ConfigDict:
  """Every field a drsl_retrieval config may set (the locked schema, xmjax.configs.schemas)."""
  return schemas.schema("drsl_retrieval")




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
  data = common.load_data(config)
  image_role, text_role = roles(config, data)
  make_model(config, data, image_role, text_role)  # its own checks, before any file is written
  n = min(len(data.labels("train", image_role)), len(data.labels("train", text_role)))
  if config.train.batch_size > n:
    raise InputError(f"config.train.batch_size: {config.train.batch_size} is larger than the "
                     f"{n} training rows")
  return data, image_role, text_role


def drsl_stage(config, data, image_role, text_role) -> TrainingStage:
  """DRSL trained on seeded per-epoch batches of images and texts, data
  parallel over config.mesh; the validation pair error once per epoch."""
  t = config.train
  model = make_model(config, data, image_role, text_role)
  n_i, n_t = len(data.labels("train", image_role)), len(data.labels("train", text_role))
  per_epoch = max(n_i, n_t) // t.batch_size
  num_steps = t.num_epochs * per_epoch
  mesh = parallel.make_mesh(config, t.batch_size)

  def split_arrays(split):
    return parallel.replicate([jnp.asarray(a) for a in (
        data.features(split, image_role), data.labels(split, image_role),
        data.features(split, text_role), data.labels(split, text_role))], mesh)

  arrays, valid = split_arrays("train"), split_arrays("valid")
  paired = n_i == n_t

  def batches(step):
    image_rows = epoch_batch_rows((config.seed, 1), n_i, t.batch_size, step)
    # Paired data (one text per image): the same rows, so S holds the true pairs.
    text_rows = image_rows if paired else epoch_batch_rows((config.seed, 2), n_t, t.batch_size,
                                                           step)
    return (*arrays, parallel.shard_rows(image_rows, mesh), parallel.shard_rows(text_rows, mesh))

  validate = None
  if len(valid[1]) and len(valid[3]):
    validate = lambda state: compiled(drsl_valid_metrics)(state, *valid)
  return TrainingStage(
      name="drsl",
      init=lambda: parallel.replicate(
          init_state(config, model, data, image_role, text_role, num_steps), mesh),
      step=drsl_train_step, batches=batches, num_steps=num_steps,
      checkpoint_every=t.checkpoint_every, static={"reduction": t.loss_reduction},
      validate=validate, validate_every=per_epoch)


def train(run: Run, prepared) -> Any:
  data, image_role, text_role = prepared
  with run.timed("train"):
    return run.train(drsl_stage(run.config, data, image_role, text_role))


def results(run: Run, prepared, state) -> dict[str, Any]:
  """mAP both ways from every test image-text score, beside CCA's."""
  data, image_role, text_role = prepared
  with run.timed("score"):
    scores = np.asarray(compiled(drsl_scores)(
        state, jnp.asarray(data.features("test", image_role)),
        jnp.asarray(data.features("test", text_role))))

  def similarity(q, t):
    return scores if q == image_role else scores.T

  return common.report(run, "drsl", similarity, data, (image_role, text_role))


TASK = Task(name="drsl_retrieval", prepare=prepare, train=train, results=results, stages=STAGES,
            inputs=lambda config: {"drsl": common.data_files(config)})
