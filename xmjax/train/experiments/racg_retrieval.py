"""RACG fine-grained image-text retrieval (the RACG paper; docs/protocols.md, R@K).

Data: the embedded synthetic relational scenes (`data.name = "scenes"`) or
the SCAN precomp layout (`"scan"`, Flickr30k / MS-COCO) under `data.dir`.
Training: mini-batches of captions with their images; every image-caption
pair of the batch is scored (B x B) for the hardest-negative triplet loss
plus the auxiliary loss (eq. 21-23). Evaluation: every test image against
every test caption in blocks, SCAN R@K, optional i2t re-ranking, COCO 1K/5K;
the similarity matrix is saved (`racg/similarity.npy`) so two runs can be
ensembled with `launch/eval.py --ensemble_with`.

`train.ablation_no_cross = True` also trains, in the same run and workdir,
RACG without the cross graph (the blocks of eq. 10 that couple the two
modalities) and writes it as `racg_no_cross/...`.
"""

from __future__ import annotations

import os
from typing import Any, Sequence

import numpy as np

from xmjax import random_streams
from xmjax.configs.fields import comma_list
from xmjax import metrics
from xmjax.data.image_text import ImageTextData, caption_arrays, image_arrays, load_image_text
from xmjax.data.scenes import CAPTIONS_PER_IMAGE, CONTRASTS, Images
from xmjax.data.text import NUM_POS
from xmjax.errors import InputError
from xmjax.models.build import from_config
from xmjax.models.racg import RACG, TRAINING_COMPILER_OPTIONS
from xmjax.train import optim, provenance
from xmjax.train.batching import EpochBatches
from xmjax.train.files import save_npy_atomic
from xmjax.train.racg_step import cross_share_results, evaluate, train_step
from xmjax.train.runner import Run, Task, TrainingStage
from xmjax.train.state import TrainState, compute_dtype, init_train_state


STAGES = (provenance.Stage("racg", exclude=("eval.",)),)


def check_config(config) -> None:
  """What the field ranges (xmjax.configs.ranges) cannot say."""
  data_fields, model_fields = config.data, config.model
  if data_fields.name == "scan" and not data_fields.dir:
    raise InputError("config.data.dir: set it to the SCAN precomp directory")
  scenes = data_fields.scenes
  if data_fields.name == "scenes" and scenes.kind == "relational" and scenes.max_objects < 3:
    raise InputError(f"config.data.scenes.max_objects: relational scenes need a target, its "
                     f"reference and a distractor (>= 3), got {scenes.max_objects}")
  if model_fields.joint_dim % model_fields.num_heads:
    raise InputError(f"config.model.num_heads: {model_fields.num_heads} does not divide "
                     f"joint_dim {model_fields.joint_dim}")
  if model_fields.use_positions and not 0 < model_fields.position_dim < model_fields.joint_dim:
    raise InputError(f"config.model.position_dim: need 0 < position_dim < joint_dim, got "
                     f"{model_fields.position_dim}")


# ----------------------------------------------------------------------------
# Model, steps.


def make_model(config, vocab_size: int, cross_graph: bool = True, scorer: str = "racg") -> RACG:
  return from_config(RACG, config.model, vocab_size=vocab_size, num_pos=NUM_POS,
                     cross_graph=cross_graph, scorer=scorer, dtype=compute_dtype(config.dtype))


def retrieval_results(config, sims: np.ndarray, prefix: str,
                      images: Images | None = None) -> dict[str, float]:
  """R@K (COCO 1K, re-ranked when asked) and, on scenes, the minimal pairs."""
  out = {f"{prefix}/{k}": v for k, v in metrics.recall_at_k(sims, CAPTIONS_PER_IMAGE).items()}
  if images is not None and images.contrast is not None:
    out.update({f"{prefix}/{k}": v for k, v in metrics.minimal_pair_accuracy(
        sims, images.contrast, CONTRASTS, CAPTIONS_PER_IMAGE).items()})
  if config.data.coco_folds:
    out.update({f"{prefix}/{k}": v for k, v in metrics.coco_recall(sims).items()
                if k.startswith("1k_")})
  if config.eval.rerank:
    k1 = config.eval.rerank_k1
    out.update({f"{prefix}_rerank/{k}": v for k, v in
                metrics.reranked_recall_at_k(sims, k1, CAPTIONS_PER_IMAGE).items()})
    if config.data.coco_folds:   # within each 1K fold, as the paper's 1K columns
      out.update({f"{prefix}_rerank/{k}": v for k, v in
                  metrics.coco_recall(sims, CAPTIONS_PER_IMAGE, rerank_k1=k1).items()
                  if k.startswith("1k_")})
  return out


# ----------------------------------------------------------------------------


def prepare(config) -> ImageTextData:
  check_config(config)
  data = load_image_text(config.data)
  if len(data.train_captions) < config.train.batch_size:
    raise InputError(f"config.train.batch_size: {config.train.batch_size} is larger than the "
                     f"{len(data.train_captions)} training captions")
  return data


def variants(config) -> list[tuple[str, dict]]:
  """(results prefix, make_model arguments) of each model trained in this
  run: RACG, without its cross graph if asked, and the baselines asked for
  (`train.baselines`: vse, scan_t2i) on the same encoders, loss and batches."""
  out = [("racg", {"cross_graph": True})]
  if config.train.ablation_no_cross:
    out.append(("racg_no_cross", {"cross_graph": False}))
  for name in comma_list(config.train.baselines):
    out.append((name, {"scorer": name}))
  return out


def initial_state(config, data: ImageTextData, variant: dict, num_steps: int) -> TrainState:
  model = make_model(config, data.vocab_size, **variant)
  images, captions = data.train_images, data.train_captions
  rows = np.arange(2)
  return init_train_state(model, optim.make_optimizer(config.train.optimizer, num_steps),
                          random_streams.key(config.seed, random_streams.RACG_INIT),
                          *image_arrays(images, captions.image_index[rows]),
                          *caption_arrays(captions, rows))


def racg_stage(config, data: ImageTextData, prefix: str, variant: dict) -> TrainingStage:
  """One variant trained on seeded per-epoch batches of captions with their
  images, data parallel over config.mesh."""
  t = config.train
  images, captions = data.train_images, data.train_captions
  schedule = EpochBatches((config.seed, random_streams.RACG_BATCHES), len(captions),
                          t.batch_size, t.num_epochs)
  total = schedule.num_steps

  def batches(step):   # host arrays; the runner splits them over config.mesh
    (rows,) = schedule(step)
    image_ids = captions.image_index[rows]
    return image_arrays(images, image_ids), caption_arrays(captions, rows), image_ids

  return TrainingStage(
      name=prefix, init=lambda: initial_state(config, data, variant, total),
      step=train_step, batches=batches, num_steps=total, checkpoint_every=t.checkpoint_every,
      static={"margin": t.margin, "aux_weight": t.aux_weight, "beta": t.beta, "gamma": t.gamma},
      compiler_options=TRAINING_COMPILER_OPTIONS)


def train(run: Run, data: ImageTextData) -> dict[str, TrainState]:
  """Every variant (the model, and without its cross graph if asked)."""
  with run.timed("train"):
    return {prefix: run.train(racg_stage(run.config, data, prefix, variant))
            for prefix, variant in variants(run.config)}


def results(run: Run, data: ImageTextData, states: dict[str, TrainState]) -> dict[str, Any]:
  """R@K (and re-ranked, COCO 1K) of every variant; each similarity matrix
  is saved for ensembles. Diagnostics of the model with the cross graph:
  its cross-message shares, and R@K with its cross graph switched off at
  test time, same weights (`racg_cross_off/`)."""
  config = run.config
  sparse = "dependency parse" if data.parsed else "chain (no parser)"
  out = {"text_graph": "dense (every word pair)" if config.model.text_graph == "dense" else sparse,
         "unknown_tokens": data.unknown_tokens}
  images, captions = data.test_images, data.test_captions
  for prefix, variant in variants(config):
    model = make_model(config, data.vocab_size, **variant)
    sims = evaluate(config, model, states[prefix].params, images, captions)
    save_npy_atomic(run.path(prefix, "similarity.npy"), sims)
    out.update(retrieval_results(config, sims, prefix, images))
  params = states["racg"].params
  with run.timed("diagnostics"):
    out.update(cross_share_results(config, make_model(config, data.vocab_size, True), params,
                                   images, captions, "racg"))
    cross_off = make_model(config, data.vocab_size, False)
    out.update(retrieval_results(config, evaluate(config, cross_off, params, images, captions),
                                 "racg_cross_off", images))
  return out


def ensemble_results(config, workdirs: Sequence[str]) -> dict[str, Any]:
  """The paper's "*" rows: R@K of the mean of several runs' similarity matrices."""
  matrices = []
  for workdir in workdirs:
    path = os.path.join(workdir, "racg", "similarity.npy")
    if not os.path.exists(path):
      raise InputError(f"{path}: not found; evaluate that run first (launch/eval.py)")
    matrices.append(np.load(path, allow_pickle=False))
  shapes = {m.shape for m in matrices}
  if len(shapes) != 1:
    raise InputError(f"--ensemble_with: similarity matrices differ in shape {sorted(shapes)}")
  results = {"config": config.name, "ensemble_of": list(workdirs)}
  results.update(retrieval_results(config, np.mean(matrices, axis=0), "racg_ensemble"))
  return results


TASK = Task(name="racg_retrieval", prepare=prepare, train=train, results=results, stages=STAGES,
            ensemble=ensemble_results,
            headline=("*/rsum",))
