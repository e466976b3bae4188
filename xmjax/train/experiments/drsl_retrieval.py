"""DRSL cross-modal retrieval (two modalities: "image" and "text" roles).

Trains on mini-batches of images and texts with ||R - S||_F^2; once per
epoch scores the validation split and keeps the network of best validation
criterion (config.train.select_on); evaluates that network by scoring every
test image against every test text with the blockwise relation network,
mAP@ALL and mAP@50 both ways, beside the CCA and linear baselines of the
same run.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax.numpy as jnp

from xmjax import random_streams
from xmjax.errors import InputError
from xmjax.models.build import from_config
from xmjax.models.drsl import DRSL
from xmjax.nn.relation import COMPILER_OPTIONS
from xmjax.train import parallel, provenance
from xmjax.train.batching import epoch_batch_rows, steps_per_epoch
from xmjax.data.retrieval import RetrievalData
from xmjax.train.experiments import retrieval_common as common
from xmjax.train.drsl_step import (SelectingState, drsl_scores, drsl_selecting_step,
                                   drsl_valid_metrics, init_state)
from xmjax.train.runner import Run, Task, TrainingStage, compiled
from xmjax.train.state import compute_dtype


# Training depends on everything but the evaluation fields (and, for the
# model itself, on whether its cosine ablation also trains).
STAGES = (provenance.Stage("drsl", exclude=("eval.", "train.ablation_cosine")),
          provenance.Stage("drsl_cosine", exclude=("eval.", "train.ablation_cosine",
                                                   "model.scorer", "model.relation_hidden",
                                                   "model.fusion", "model.block_size",
                                                   "model.tile_reduction")))


def make_model(config, scorer: str | None = None) -> DRSL:
  fields = config.model
  scorer = scorer or fields.scorer
  widths = f"{fields.image_layers[-1]} and {fields.text_layers[-1]}"
  same_width = fields.image_layers[-1] == fields.text_layers[-1]
  if scorer == "relation" and fields.fusion != "concat" and not same_width:
    raise InputError(f"config.model.fusion: {fields.fusion!r} needs image_layers and text_layers "
                     f"to end in the same width, got {widths}")
  if scorer == "cosine" and not same_width:
    field = "model.scorer" if fields.scorer == "cosine" else "train.ablation_cosine"
    raise InputError(f"config.{field}: the cosine scorer needs image_layers and text_layers to "
                     f"end in the same width, got {widths}")
  return from_config(DRSL, fields, scorer=scorer, dtype=compute_dtype(config.dtype))


def variants(config) -> dict[str, str]:
  """Results prefix -> scorer of each network this run trains."""
  out = {"drsl": config.model.scorer}
  if config.train.ablation_cosine:
    out["drsl_cosine"] = "cosine"
  return out


@dataclasses.dataclass(frozen=True)
class DrslData:
  """The retrieval data and which of its modalities DRSL treats as images
  (its first input) and which as texts."""
  data: RetrievalData
  image_role: str
  text_role: str


def prepare(config) -> DrslData:
  data = common.load_data(config, num_modalities=2)
  image_role, text_role = data.modalities
  make_model(config)  # its own checks, before any file is written
  n = min(len(data.labels("train", image_role)), len(data.labels("train", text_role)))
  if config.train.batch_size > n:
    raise InputError(f"config.train.batch_size: {config.train.batch_size} is larger than the "
                     f"{n} training rows")
  return DrslData(data, image_role, text_role)


def drsl_stage(config, data, image_role, text_role, name: str = "drsl",
               scorer: str | None = None) -> TrainingStage:
  """DRSL trained on seeded per-epoch batches of images and texts, data
  parallel over config.mesh; the validation pair error once per epoch.
  Every variant (`name`, `scorer`) sees the same batches and initial
  encoders (the same seeds)."""
  t = config.train
  n_i, n_t = len(data.labels("train", image_role)), len(data.labels("train", text_role))
  per_epoch = steps_per_epoch(max(n_i, n_t), t.batch_size)
  num_steps = t.num_epochs * per_epoch
  model = make_model(config, scorer)
  mesh = parallel.make_mesh(config)
  if mesh.size > 1:   # each device scores its own images' pairs (not all of them)
    model = model.clone(row_axis=parallel.DATA_AXIS, mesh=mesh)

  def split_arrays(split):
    return (data.features(split, image_role), data.labels(split, image_role),
            data.features(split, text_role), data.labels(split, text_role))

  arrays, valid = split_arrays("train"), split_arrays("valid")
  paired = n_i == n_t

  has_valid = bool(len(valid[1]) and len(valid[3]))
  if t.select_on != "last" and not has_valid:
    raise InputError(f"config.train.select_on: {t.select_on!r} needs validation rows of both "
                     f"modalities (valid_fraction / valid_len), or 'last'")

  def batches(step):   # host rows; the runner splits them over config.mesh
    image_rows = epoch_batch_rows((config.seed, random_streams.DRSL_IMAGE_BATCHES), n_i, t.batch_size, step)
    # Paired data (one text per image): the same rows, so S holds the true pairs.
    text_rows = image_rows if paired else epoch_batch_rows((config.seed, random_streams.DRSL_TEXT_BATCHES), n_t, t.batch_size,
                                                           step)
    return image_rows, text_rows

  validate = None
  if has_valid:   # the validation curves (logged), beside the selection inside the step
    device_valid = [jnp.asarray(a) for a in valid]
    validate = lambda state: compiled(drsl_valid_metrics, compiler_options=COMPILER_OPTIONS)(
        state.train, *device_valid)
  return TrainingStage(
      name=name,
      init=lambda: SelectingState.create(
          init_state(config, model, data.features("train", image_role),
                     data.features("train", text_role), num_steps)),
      step=drsl_selecting_step, data=(*arrays, valid), batches=batches, num_steps=num_steps,
      checkpoint_every=t.checkpoint_every,
      static={"reduction": t.loss_reduction, "validate_every": per_epoch,
              "select_on": t.select_on},
      validate=validate, validate_every=per_epoch, compiler_options=COMPILER_OPTIONS)


def train(run: Run, prepared: DrslData) -> dict[str, SelectingState]:
  """Every variant's network (results prefix -> its state)."""
  data, image_role, text_role = prepared.data, prepared.image_role, prepared.text_role
  states = {}
  for name, scorer in variants(run.config).items():
    with run.timed("train" if name == "drsl" else name):
      states[name] = run.train(drsl_stage(run.config, data, image_role, text_role, name, scorer))
  return states


def results(run: Run, prepared: DrslData, states: dict[str, SelectingState]) -> dict[str, Any]:
  """mAP both ways from every test image-text score of the selected
  network, beside the baselines'; the epoch it was selected at; the same
  for the cosine ablation when trained (`drsl_cosine/`)."""
  data, image_role, text_role = prepared.data, prepared.image_role, prepared.text_role
  select = run.config.train.select_on != "last"
  per_epoch = steps_per_epoch(max(len(data.labels("train", r)) for r in (image_role, text_role)),
                              run.config.train.batch_size)
  out = {}
  roles_ = (image_role, text_role)
  for name, state in states.items():
    scores = {}
    with run.timed("score" if name == "drsl" else f"{name}_score"):
      for split in ("test", "valid"):
        if all(len(data.labels(split, r)) for r in roles_):
          # Row-sharded when the model splits its rows over the mesh.
          scores[split] = parallel.to_host(compiled(drsl_scores, compiler_options=COMPILER_OPTIONS)(
              state.selected() if select else state.train,
              jnp.asarray(data.features(split, image_role)),
              jnp.asarray(data.features(split, text_role))))

    def similarity(q, t, split="test", scores=scores):
      return scores[split] if q == image_role else scores[split].T

    valid = (lambda q, t, s=similarity: s(q, t, "valid")) if "valid" in scores else None
    if name == "drsl":
      out.update(common.report(run, "drsl", similarity, data, roles_, valid_similarity=valid))
    else:
      out.update(common.map_results(name, similarity, data, roles_, k=run.config.eval.map_k))
      out.update(common.valid_map(name, valid, data, roles_))
    if select:
      out[f"{name}/selected_epoch"] = int(state.best_step) / per_epoch
  return out


TASK = Task(name="drsl_retrieval", prepare=prepare, train=train, results=results, stages=STAGES,
            inputs=lambda config: {"drsl": common.data_files(config)},
            headline=("*/map_mean",))
