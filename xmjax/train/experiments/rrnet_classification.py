"""RR-Net on top of a CNN baseline for image classification (paper IV-B).

Data: the shipped UCI digits (`data.name = "optdigits"`) or CIFAR-10/100 from
TFDS (`"cifar10"`, `"cifar100"`, official train/test splits, optionally
`data.fake_examples` generated examples of the real shapes).

Two stages, each cached in the workdir so a rerun resumes instead of redoing:

1. baseline: train a CNN on the training images; write its penultimate
   features and class probabilities for train and test to
   `workdir/baseline/outputs.npz` (checkpoints in `baseline/checkpoints`).
2. rrnet: build the training graph (kNN among training images, label nodes
   with their own kNN, inter edges to each image's top-K baseline classes),
   train RR-Net full-graph, and evaluate on the test graph, built the same way
   from test images only (inductive; no test label is used to build it).

`workdir/results.json` gets `baseline/test_accuracy` and `rrnet/test_accuracy`
from the same run, plus train accuracies and the candidate recall.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax import graph as graph_lib
from xmjax.configs import schemas
from xmjax.data import standardize
from xmjax.data.images import load_data
from xmjax.errors import InputError
from xmjax.models import make_baseline
from xmjax.models.cnn import BASELINES
from xmjax.train import optim, parallel, provenance
from xmjax.train.baseline import baseline_predict, baseline_train_step
from xmjax.train.checkpoint import Checkpointer, restore_for_eval
from xmjax.train.checks import check_optimizer, check_positive
from xmjax.train.logging import MetricWriter
from xmjax.train.loop import Hook, run_training, save_npz_atomic, write_json_atomic
from xmjax.train.plots import plot_training_curves
from xmjax.train.rrnet_stage import (check_rrnet_config, class_node_features, make_rrnet,
                                     rrnet_eval_step, rrnet_train_step)
from xmjax.train.state import (TrainState, check_known_fields, compute_dtype, create_train_state,
                               save_config)

log = logging.getLogger("xmjax")


# The baseline CNN depends only on the data and its own fields, so a sweep
# over RR-Net fields trains it once (xmjax.train.sweep shares it).
STAGES = (provenance.Stage("baseline", include=("baseline.", "data.", "seed", "dtype"),
                           outputs=("baseline/outputs.npz",)),
          provenance.Stage("rrnet"))


def default_config() -> ml_collections.ConfigDict:
  """Every field a rrnet_classification config may set (the locked schema, xmjax.configs.schemas)."""
  return schemas.schema("rrnet_classification")


# ----------------------------------------------------------------------------
# Validation: everything is checked before the workdir is touched.


def check_config(config: ml_collections.ConfigDict) -> None:
  check_known_fields(config, default_config())
  compute_dtype(config.dtype)
  if config.baseline.arch not in BASELINES:
    raise InputError(f"config.baseline.arch: unknown architecture {config.baseline.arch!r}; "
                     f"choose one of {sorted(BASELINES)}")
  if not config.baseline.width > 0:
    raise InputError(f"config.baseline.width: must be > 0, got {config.baseline.width}")
  check_optimizer("baseline.optimizer", config.baseline.optimizer)
  check_positive(config, ("baseline.num_epochs", "baseline.batch_size",
                          "baseline.eval_batch_size", "baseline.checkpoint_every"))
  check_rrnet_config(config)


def check_graph_sizes(config: ml_collections.ConfigDict, num_baseline: int, num_train: int,
                      num_test: int, num_classes: int, num_valid: int | None = None) -> None:
  r = config.rrnet
  sizes = {"train": num_train, "test": num_test}
  if num_valid is not None:
    sizes["valid"] = num_valid
  smallest = min(sizes.values())
  if not 1 <= r.k1 < smallest:
    described = ", ".join(f"{v} {k}" for k, v in sizes.items())
    raise InputError(f"config.rrnet.k1: need 1 <= k1 < number of image nodes per graph "
                     f"({smallest}: {described}), got {r.k1}")
  if not 1 <= r.k2 < num_classes:
    raise InputError(f"config.rrnet.k2: need 1 <= k2 < number of label nodes ({num_classes}), "
                     f"got {r.k2}")
  if not 1 <= r.num_candidates <= num_classes:
    raise InputError(f"config.rrnet.num_candidates: need 1 <= K <= number of classes "
                     f"({num_classes}), got {r.num_candidates}")
  if config.baseline.batch_size > num_baseline:
    raise InputError(f"config.baseline.batch_size: {config.baseline.batch_size} is larger than "
                     f"the {num_baseline} examples the baseline trains on")


# ----------------------------------------------------------------------------
# Data.


# ----------------------------------------------------------------------------
# Stage 1: the CNN baseline.


def run_baseline(config, data, workdir, writer, hooks: Sequence[Hook] = ()) -> dict[str, np.ndarray]:
  """Trains (or resumes) the baseline; returns its cached outputs."""
  out_path = os.path.join(workdir, "baseline", "outputs.npz")
  if os.path.exists(out_path):
    log.info("baseline: reusing %s", out_path)
    with np.load(out_path, allow_pickle=False) as f:
      return {k: f[k] for k in f.files}
  b = config.baseline
  model = make_baseline(b.arch, data["num_classes"], compute_dtype(config.dtype), b.width)
  n = len(data["baseline_labels"])
  steps_per_epoch = n // b.batch_size
  num_steps = b.num_epochs * steps_per_epoch
  variables = model.init(jax.random.fold_in(jax.random.key(config.seed), 1),
                         jnp.asarray(data["baseline_images"][:1], jnp.float32))
  tx = optim.make_optimizer(b.optimizer, num_steps)
  state = create_train_state(model.apply, variables["params"], tx,
                             batch_stats=variables.get("batch_stats"))
  # The baseline is data parallel over config.mesh; RR-Net's full-graph step runs on one device.
  mesh = parallel.make_mesh(config, b.batch_size)
  augment_key = parallel.replicate(jax.random.fold_in(jax.random.key(config.seed), 4), mesh)
  train_images, train_labels, pixel_stats, state = parallel.replicate(
      (data["baseline_images"], data["baseline_labels"],
       (data["pixel_mean"], data["pixel_std"]), state), mesh)

  def batch_fn(step):
    # A fresh permutation per epoch, a function of (seed, epoch) only.
    epoch, offset = divmod(step, steps_per_epoch)
    order = np.random.default_rng([config.seed, 1, epoch]).permutation(n)
    batch = order[offset * b.batch_size:(offset + 1) * b.batch_size]
    return train_images, train_labels, parallel.shard_rows(batch, mesh), augment_key, pixel_stats

  step_fn = functools.partial(
      jax.jit(baseline_train_step, donate_argnums=0, static_argnames=("crop_padding", "flip")),
      crop_padding=b.crop_padding, flip=b.flip)
  state = run_training(
      state=state, train_step=step_fn, batch_fn=batch_fn, num_steps=num_steps,
      checkpointer=Checkpointer(os.path.join(workdir, "baseline", "checkpoints")),
      writer=writer, prefix="baseline", log_every=config.log_every,
      checkpoint_every=b.checkpoint_every, hooks=hooks)

  outputs = {}
  for part in graph_parts(data):
    probs, features = baseline_predict(state, jnp.asarray(data[f"{part}_images"]),
                                       pixel_stats, b.eval_batch_size)
    outputs[f"{part}_probs"] = np.asarray(probs)
    outputs[f"{part}_features"] = np.asarray(features)
  save_npz_atomic(out_path, **outputs)
  return outputs


# ----------------------------------------------------------------------------
# Stage 2: RR-Net.


def graph_parts(data) -> tuple[str, ...]:
  """The parts that get a graph: train, test, and valid when there is one."""
  return ("train", "test", "valid") if "valid" in data["split"] else ("train", "test")


def build_graphs(config, outputs, data):
  """Padded graphs (train, test, valid if any), each built from its own rows,
  and padded labels (-1 on padding)."""
  r = config.rrnet
  classes = class_node_features(r, config.data.name, data["num_classes"], config.seed)
  parts = graph_parts(data)
  features = [outputs[f"{part}_features"] for part in parts]
  if r.standardize_features:
    features = standardize(*features)
  graphs = {}
  for part, x in zip(parts, features):
    graph = graph_lib.classification_graph(
        x, classes, outputs[f"{part}_probs"], data[f"{part}_labels"],
        k1=r.k1, k2=r.k2, num_candidates=r.num_candidates, metric=r.metric)
    graph = graph_lib.pad_to_bucket(graph, r.pad_multiple)
    labels = np.full(graph.nodes1.shape[0], -1, np.int32)
    labels[:len(data[f"{part}_labels"])] = data[f"{part}_labels"]
    graphs[part] = (graph, jnp.asarray(labels))
  return graphs


def initial_rrnet_state(config, graphs) -> TrainState:
  r = config.rrnet
  model = make_rrnet(config)
  params = model.init(jax.random.fold_in(jax.random.key(config.seed), 2),
                      graphs["train"][0])["params"]
  return create_train_state(model.apply, params, optim.make_optimizer(r.optimizer, r.num_steps))


def rrnet_checkpointer(workdir) -> Checkpointer:
  return Checkpointer(os.path.join(workdir, "rrnet", "checkpoints"))


def place_graphs(config, graphs):
  """Edge-sharded over config.mesh when rrnet.edge_sharding, else as they are."""
  if not config.rrnet.edge_sharding:
    return graphs
  mesh = parallel.make_mesh(config)
  return {part: (parallel.shard_graph_edges(graph, mesh), parallel.replicate(labels, mesh))
          for part, (graph, labels) in graphs.items()}


def run_rrnet(config, graphs, workdir, writer, hooks: Sequence[Hook] = ()) -> TrainState:
  r = config.rrnet
  graphs = place_graphs(config, graphs)
  train_graph, train_labels = graphs["train"]
  step = functools.partial(rrnet_train_step, reduction=r.loss_reduction)
  state = initial_rrnet_state(config, graphs)
  if r.edge_sharding:
    state = parallel.replicate(state, parallel.make_mesh(config))
  return run_training(
      state=state, train_step=step,
      batch_fn=lambda _: (train_graph, train_labels), num_steps=r.num_steps,
      checkpointer=rrnet_checkpointer(workdir), writer=writer, prefix="rrnet",
      log_every=config.log_every, checkpoint_every=r.checkpoint_every, hooks=hooks,
      eval_fn=(lambda state: rrnet_eval_step(state, *graphs["valid"])) if "valid" in graphs
      else None, eval_every=config.log_every)


# ----------------------------------------------------------------------------


def prepare(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """Validates the config and loads the data; touches no file."""
  check_config(config)
  data = load_data(config)
  check_graph_sizes(config, len(data["baseline_labels"]), len(data["train_labels"]),
                    len(data["test_labels"]), data["num_classes"],
                    len(data["valid_labels"]) if "valid_labels" in data else None)
  class_node_features(config.rrnet, config.data.name, data["num_classes"], config.seed)
  return data


def train_and_evaluate(config: ml_collections.ConfigDict, workdir: str,
                       hooks: Sequence[Hook] = ()) -> dict[str, Any]:
  """Runs both stages in `workdir` (resuming what is there) and writes results.json."""
  start = time.time()
  data = prepare(config)
  data_seconds = time.time() - start
  provenance.claim_stages(config, workdir, STAGES)
  os.makedirs(os.path.join(workdir, "baseline"), exist_ok=True)
  save_config(config, workdir)
  save_npz_atomic(os.path.join(workdir, "data_split.npz"), **data["split"])
  writer = MetricWriter(workdir)
  timing = {"data_seconds": data_seconds}
  try:
    start = time.time()
    outputs = run_baseline(config, data, workdir, writer, hooks)
    timing["baseline_seconds"] = time.time() - start
    start = time.time()
    graphs = build_graphs(config, outputs, data)
    jax.block_until_ready(graphs)
    timing["graph_seconds"] = time.time() - start
    start = time.time()
    state = run_rrnet(config, graphs, workdir, writer, hooks)
    timing["rrnet_seconds"] = time.time() - start
  finally:
    writer.close()
  write_json_atomic(os.path.join(workdir, "timing.json"), timing)
  return write_results(config, workdir, data, outputs, graphs, state)


def write_results(config, workdir, data, outputs, graphs, state) -> dict[str, Any]:
  """Evaluates `state` on the train and test graphs; writes results.json and plots."""
  metrics = {part: jax.device_get(rrnet_eval_step(state, *graphs[part]))
             for part in ("train", "test")}
  results = {
      "config": config.name,
      "seed": config.seed,
      "baseline/test_accuracy": _accuracy(outputs["test_probs"], data["test_labels"]),
  }
  for part in ("train", "test"):
    results[f"rrnet/{part}_accuracy"] = float(metrics[part]["accuracy"])
    results[f"rrnet/{part}_loss"] = float(metrics[part]["loss"])
    results[f"rrnet/{part}_candidate_recall"] = float(metrics[part]["candidate_recall"])
  write_json_atomic(os.path.join(workdir, "results.json"), results)
  plot_training_curves(workdir)
  return results


def evaluate_workdir(config, workdir: str, step: int | None = None) -> dict[str, Any]:
  """Re-evaluates the latest (or `step`) RR-Net checkpoint of a run; no training."""
  data = prepare(config)
  out_path = os.path.join(workdir, "baseline", "outputs.npz")
  if not os.path.exists(out_path):
    raise InputError(f"{workdir}: the baseline stage has not finished ({out_path} missing); "
                     "nothing to evaluate yet")
  with np.load(out_path, allow_pickle=False) as f:
    outputs = {k: f[k] for k in f.files}
  graphs = build_graphs(config, outputs, data)
  state = restore_for_eval(rrnet_checkpointer(workdir), initial_rrnet_state(config, graphs),
                           step, workdir)
  return write_results(config, workdir, data, outputs, graphs, state)


def _accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
  return float(np.mean(np.argmax(probs, axis=1) == labels))
