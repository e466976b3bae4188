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
import json
import logging
import os
import time
from typing import Any, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import optax

from xmjax import graph as graph_lib
from xmjax.data import load_label_embeddings, load_optdigits, standardize, stratified_split
from xmjax.data.tfds_images import IMAGE_DATASETS, load_tfds_split
from xmjax.data.augment import augment
from xmjax.errors import InputError
from xmjax.models import RRNet, bce_loss, classification_metrics, make_baseline, parse_units
from xmjax.models.cnn import BASELINES
from xmjax.nn.aggregation import REDUCTIONS
from xmjax.train import optim, parallel
from xmjax.train.checkpoint import Checkpointer, restore_for_eval
from xmjax.train.logging import MetricWriter
from xmjax.train.plots import plot_training_curves
from xmjax.train.loop import Hook, run_training, save_npz_atomic, write_json_atomic
from xmjax.train.state import (BatchStatsTrainState, TrainState, check_known_fields, compute_dtype, create_train_state,
                               load_saved_config, save_config)

log = logging.getLogger("xmjax")

# Label-node attributes: one-hot, seeded Gaussian, the shipped MiniLM
# embeddings of the class names, or the user's vectors (rrnet.label_embeddings).
LABEL_FEATURES = ("onehot", "random", "text", "file")
DATASETS = ("optdigits",) + tuple(IMAGE_DATASETS)


def default_config() -> ml_collections.ConfigDict:
  """Every field an rrnet_classification config may set (the schema)."""
  c = ml_collections.ConfigDict()
  c.name = "rrnet_classification"
  c.experiment = "rrnet_classification"
  c.seed = 0
  c.dtype = "float32"          # or "bfloat16" (params, optimizer and loss stay float32)
  c.log_every = 50
  c.mesh = parallel.mesh_config()  # data-parallel devices for the baseline CNN
  c.data = ml_collections.ConfigDict(dict(
      name="optdigits",        # the shipped UCI 8x8 digits, or "cifar10" / "cifar100" (TFDS)
      path="",                 # optdigits: "" = the shipped file
      data_dir="",             # TFDS sets: a prepared copy ("" = TFDS's default)
      # TFDS sets: > 0 replaces the files by this many generated examples of
      # the real shapes and label space per split (smoke tests, throughput).
      fake_examples=0,
      split_seed=0,            # seeded stratified splits, recorded in the workdir
      test_fraction=0.2,       # optdigits only; TFDS sets use their test split
      # Stratified part of the training split held out as a validation graph
      # (built from its own rows, like the test graph) for validation curves.
      valid_fraction=0.0,
      # Fraction of the training split kept from the baseline: RR-Net then
      # trains on these rows, whose baseline features are out-of-sample like
      # the test rows' (stacking). 0 = the paper's setting, one training set.
      holdout_fraction=0.0))
  c.baseline = ml_collections.ConfigDict(dict(
      arch="digits_cnn",       # or resnet18, resnet50, mobilenet_v2 (CIFAR variants)
      width=1.0,               # channel multiplier (1.0 = the published networks)
      num_epochs=20, batch_size=64, eval_batch_size=512,
      checkpoint_every=200,
      crop_padding=1,          # random-crop augmentation: pad by this many pixels, crop back
      flip=False,              # random left-right flips (off for digits)
      optimizer=optim.optimizer_config(learning_rate=0.05, schedule="cosine")))
  c.rrnet = ml_collections.ConfigDict(dict(
      k1=10,                   # kNN degree among instances
      k2=2,                    # kNN degree among label nodes
      num_candidates=10,       # K: inter edges per instance (top-K baseline classes)
      latent=16, hidden=16,
      units="intra,inter,intra,inter,inter",
      aggregation="mean", layer_norm=False, metric="cosine",
      label_features="onehot", label_dim=64,  # label_dim: width of "random" label features
      label_embeddings="",     # label_features="file": .npy (classes, d) or .npz key "embeddings"
      standardize_features=False,  # per-feature, training statistics only
      pad_multiple=128,        # node buckets: one compile per bucket
      # Split every graph's edges over config.mesh (node state replicated,
      # per-node reductions summed across devices), for graphs larger than
      # one device; off = the full-graph step runs on one device.
      edge_sharding=False,
      num_steps=300, checkpoint_every=100, loss_reduction="mean",
      optimizer=optim.optimizer_config()))
  return c


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


def check_rrnet_config(config: ml_collections.ConfigDict) -> None:
  """Checks config.rrnet and config.log_every (shared by the RR-Net experiments)."""
  r = config.rrnet
  check_rrnet_model(r)
  if r.label_features not in LABEL_FEATURES:
    raise InputError(f"config.rrnet.label_features: unknown {r.label_features!r}; "
                     f"choose one of {LABEL_FEATURES}")
  check_positive(config, ("rrnet.num_steps", "rrnet.checkpoint_every", "rrnet.latent",
                          "rrnet.hidden", "rrnet.pad_multiple", "log_every"))


def check_rrnet_model(r: ml_collections.ConfigDict) -> None:
  """The model and optimizer fields every RR-Net experiment's config.rrnet has."""
  try:
    parse_units(r.units)
  except ValueError as e:
    raise InputError(f"config.rrnet.{e}") from None
  if r.aggregation not in REDUCTIONS:
    raise InputError(f"config.rrnet.aggregation: unknown {r.aggregation!r}; choose one of {REDUCTIONS}")
  if r.loss_reduction not in ("mean", "sum"):
    raise InputError(f"config.rrnet.loss_reduction: must be 'mean' or 'sum', got {r.loss_reduction!r}")
  check_optimizer("rrnet.optimizer", r.optimizer)


def check_optimizer(field: str, opt: ml_collections.ConfigDict) -> None:
  if opt.name not in optim.OPTIMIZERS:
    raise InputError(f"config.{field}.name: unknown optimizer {opt.name!r}; "
                     f"choose one of {optim.OPTIMIZERS}")
  if opt.schedule not in optim.SCHEDULES:
    raise InputError(f"config.{field}.schedule: unknown schedule {opt.schedule!r}; "
                     f"choose one of {optim.SCHEDULES}")


def check_positive(config: ml_collections.ConfigDict, fields: Sequence[str]) -> None:
  for field in fields:
    section, _, name = field.rpartition(".")
    value = config[section][name] if section else config[name]
    if value < 1:
      raise InputError(f"config.{field}: must be >= 1, got {value}")


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


def load_data(config: ml_collections.ConfigDict) -> dict[str, Any]:
  """Images and labels per part, per config.data: "baseline" (trains the
  CNN), "train" (RR-Net's training graph; the same rows unless
  holdout_fraction > 0), "test" and "valid" if asked for; plus the per-channel
  pixel statistics the CNN normalises with (from the baseline rows only)."""
  d = config.data
  if d.name not in DATASETS:
    raise InputError(f"config.data.name: unknown data set {d.name!r} for this experiment; "
                     f"choose one of {DATASETS}")
  if d.fake_examples < 0:
    raise InputError(f"config.data.fake_examples: must be >= 0, got {d.fake_examples}")
  if d.name == "optdigits":
    if not 0 < d.test_fraction < 1:
      raise InputError(f"config.data.test_fraction: must be in (0, 1), got {d.test_fraction}")
    images, labels = load_optdigits(d.path or None)
    num_classes = 10
    fractions = {"baseline": 0.0, "test": d.test_fraction}
  else:
    train = load_tfds_split(d.name, "train", d.data_dir, d.fake_examples)
    test = load_tfds_split(d.name, "test", d.data_dir, d.fake_examples)
    images, labels = (np.concatenate(pair) for pair in zip(train, test))
    num_classes = IMAGE_DATASETS[d.name][1]
    fractions = {"baseline": 0.0}
  _check_fractions(d)
  if d.valid_fraction > 0:
    fractions["valid"] = d.valid_fraction
  if d.name == "optdigits":
    split = stratified_split(labels, fractions, d.split_seed)
  else:  # the official test split stays the test split
    num_train = len(train[1])
    split = stratified_split(labels[:num_train], fractions, d.split_seed)
    split["test"] = np.arange(num_train, len(labels))
  split = _holdout(d, labels, split)
  data = {"split": split, "num_classes": num_classes}
  for part, rows in split.items():
    data[f"{part}_images"], data[f"{part}_labels"] = images[rows], labels[rows]
  if d.name == "optdigits":  # already in [0, 1]
    data["pixel_mean"] = np.zeros((1,), np.float32)
    data["pixel_std"] = np.ones((1,), np.float32)
  else:
    pixels = data["baseline_images"].reshape(-1, images.shape[-1]).astype(np.float64)
    data["pixel_mean"] = pixels.mean(0).astype(np.float32)
    data["pixel_std"] = np.maximum(pixels.std(0), 1e-3).astype(np.float32)
  return data


def _check_fractions(d) -> None:
  if not 0 <= d.holdout_fraction < 1:
    raise InputError(f"config.data.holdout_fraction: must be in [0, 1), got {d.holdout_fraction}")
  test_fraction = d.test_fraction if d.name == "optdigits" else 0.0
  if not 0 <= d.valid_fraction < 1 - test_fraction:
    raise InputError(f"config.data.valid_fraction: must be in [0, {1 - test_fraction:g}), got "
                     f"{d.valid_fraction}")


def _holdout(d, labels, split):
  """Moves holdout_fraction of the baseline rows to RR-Net's own training rows."""
  if d.holdout_fraction > 0:
    train_rows = split["baseline"]
    parts = stratified_split(labels[train_rows], {"baseline": 0.0, "train": d.holdout_fraction},
                             d.split_seed + 1)
    split = dict(split, baseline=train_rows[parts["baseline"]], train=train_rows[parts["train"]])
  else:
    split["train"] = split["baseline"]
  return split


# ----------------------------------------------------------------------------
# Stage 1: the CNN baseline.


def _model_variables(state: TrainState, params) -> dict[str, Any]:
  """The variables to apply the baseline with: params, plus BatchNorm statistics if any."""
  if isinstance(state, BatchStatsTrainState):
    return {"params": params, "batch_stats": state.batch_stats}
  return {"params": params}


def normalize_pixels(images: jax.Array, pixel_stats: tuple[jax.Array, jax.Array]) -> jax.Array:
  """uint8 or float images -> float32, standardised per channel (on device)."""
  mean, std = pixel_stats
  return (images.astype(jnp.float32) - mean) / std


@functools.partial(jax.jit, donate_argnums=0, static_argnames=("crop_padding", "flip"))
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

  step_fn = functools.partial(baseline_train_step, crop_padding=b.crop_padding, flip=b.flip)
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


def class_node_features(rrnet_config, dataset: str, num_classes: int, seed: int) -> np.ndarray:
  """Fixed attributes of the label nodes, (num_classes, d), per rrnet.label_features."""
  kind = rrnet_config.label_features
  if kind == "onehot":
    return np.eye(num_classes, dtype=np.float32)
  if kind == "random":
    rng = np.random.default_rng([seed, 3])
    return rng.standard_normal((num_classes, rrnet_config.label_dim)).astype(np.float32)
  if kind == "file" and not rrnet_config.label_embeddings:
    raise InputError("config.rrnet.label_embeddings: label_features='file' needs a path")
  features = load_label_embeddings(dataset, rrnet_config.label_embeddings if kind == "file"
                                   else None)
  if features.shape[0] != num_classes:
    where = rrnet_config.label_embeddings or f"the shipped {dataset!r} embeddings"
    raise InputError(f"{where}: {features.shape[0]} label vectors for {num_classes} classes")
  return features


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


def make_rrnet(config) -> RRNet:
  r = config.rrnet
  return RRNet(latent=r.latent, hidden=r.hidden, units=r.units, aggregation=r.aggregation,
               fixed_degree=True, layer_norm=r.layer_norm, dtype=compute_dtype(config.dtype))


@functools.partial(jax.jit, donate_argnums=0, static_argnames=("reduction",))
def rrnet_train_step(state: TrainState, graph: graph_lib.CrossModalGraph, labels: jax.Array,
                     reduction: str = "mean"):
  """One full-graph step: BCE over every real inter edge."""

  def loss_fn(params):
    logits = state.apply_fn({"params": params}, graph)
    return bce_loss(logits, graph.inter_targets, graph.inter_mask, reduction), logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads)
  return state, {"loss": loss, **classification_metrics(logits, graph, labels)}


@jax.jit
def rrnet_eval_step(state: TrainState, graph: graph_lib.CrossModalGraph, labels: jax.Array):
  logits = state.apply_fn({"params": state.params}, graph)
  return {"loss": bce_loss(logits, graph.inter_targets, graph.inter_mask),
          **classification_metrics(logits, graph, labels)}


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
  data = prepare(config)
  os.makedirs(os.path.join(workdir, "baseline"), exist_ok=True)
  saved = load_saved_config(workdir)
  if saved is not None and saved != json.loads(config.to_json_best_effort()):
    log.warning("workdir %s holds a run of a different config; its finished stages are reused",
                workdir)
  save_config(config, workdir)
  save_npz_atomic(os.path.join(workdir, "data_split.npz"), **data["split"])
  writer = MetricWriter(workdir)
  timing = {}
  try:
    start = time.time()
    outputs = run_baseline(config, data, workdir, writer, hooks)
    timing["baseline_seconds"] = time.time() - start
    start = time.time()
    graphs = build_graphs(config, outputs, data)
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
