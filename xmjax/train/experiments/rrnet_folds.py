"""RR-Net on pre-extracted features with k-fold cross-validation (paper IV-A, ESC).

Input: one `.npz` of features, labels, folds and the baseline's class
probabilities (`xmjax.data.fold_features`). For each fold f, RR-Net trains on the graph of
the other folds and is tested on the graph of fold f alone (leave one fold
out); results.json has the mean and standard deviation over folds of RR-Net's
and the baseline's accuracy.

All folds train at once: their graphs are padded to one shape and stacked,
the parameters carry a leading fold axis, and one jitted step updates every
fold. The optimizers are elementwise (SGD, Adam), so this equals five
separate runs, at one compile and one dispatch per step.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax import graph as graph_lib
from xmjax import random_streams
from xmjax.data import standardize
from xmjax.data.class_names import CLASS_NAMES
from xmjax.data.fold_features import NUM_FOLDS, FoldFeatures, load_fold_features
from xmjax.errors import InputError
from xmjax.models import bce_loss, classification_metrics
from xmjax.train import optim, provenance, rrnet_stage
from xmjax.train.runner import Run, Task, TrainingStage, compiled
from xmjax.train.state import TrainState, create_train_state


STAGES = (provenance.Stage("rrnet"),)


def check_config(config: ml_collections.ConfigDict) -> None:
  """What the field ranges (xmjax.configs.ranges) cannot say."""
  rrnet_stage.check_units(config.rrnet)


def data_path(config) -> str:
  d = config.data
  if not d.dir:
    raise InputError("config.data.dir: set it to the features .npz (or the directory "
                     f"holding {d.name}.npz)")
  return d.dir if d.dir.endswith(".npz") else os.path.join(d.dir, f"{d.name}.npz")


def label_features(config, num_classes: int) -> np.ndarray:
  name = config.data.name
  if config.rrnet.label_features == "text" and name not in CLASS_NAMES:
    raise InputError(f"config.data.name: no class names for {name!r} (have "
                     f"{sorted(CLASS_NAMES)}); use rrnet.label_features 'onehot' or 'file'")
  return rrnet_stage.class_node_features(config.rrnet, name, num_classes, config.seed)


@dataclasses.dataclass(frozen=True)
class FoldData:
  """The fold features and the label nodes' features (C, d_label)."""
  examples: FoldFeatures
  class_features: np.ndarray


def prepare(config) -> FoldData:
  """Validates config and data; touches no file."""
  check_config(config)
  examples = load_fold_features(data_path(config))
  num_classes = examples.num_classes
  if config.data.num_classes and config.data.num_classes != num_classes:
    raise InputError(f"config.data.num_classes: {config.data.num_classes}, but "
                     f"{data_path(config)} has {num_classes} classes in 'baseline_probs'")
  smallest = min(examples.fold_sizes())
  r = config.rrnet
  if not 1 <= r.k1 < smallest:
    raise InputError(f"config.rrnet.k1: need 1 <= k1 < the smallest fold ({smallest} rows), "
                     f"got {r.k1}")
  if not 1 <= r.k2 < num_classes:
    raise InputError(f"config.rrnet.k2: need 1 <= k2 < {num_classes} label nodes, got {r.k2}")
  if not 1 <= r.num_candidates <= num_classes:
    raise InputError(f"config.rrnet.num_candidates: need 1 <= K <= {num_classes}, "
                     f"got {r.num_candidates}")
  return FoldData(examples, label_features(config, num_classes))


def build_fold_graphs(config, data: FoldData
                      ) -> dict[str, tuple[graph_lib.CrossModalGraph, jax.Array]]:
  """Per part ("train", "test"): the fold graphs padded to one shape and
  stacked on a leading fold axis, and the stacked padded labels."""
  r = config.rrnet
  x = data.examples
  stacked = {}
  for part in ("train", "test"):
    graphs, labels = [], []
    for fold in range(1, NUM_FOLDS + 1):
      rows = x.folds != fold if part == "train" else x.folds == fold
      features = x.features[rows]
      if r.standardize_features:  # statistics of the fold's training rows only
        features = standardize(x.features[x.folds != fold], features)[1]
      graphs.append(graph_lib.classification_graph(
          features, data.class_features, x.baseline_probs[rows], x.labels[rows],
          k1=r.k1, k2=r.k2, num_candidates=r.num_candidates, metric=r.metric))
      labels.append(x.labels[rows])
    num1 = graph_lib.round_up(max(len(l) for l in labels) + 1, r.pad_multiple)
    num2 = x.num_classes + 1
    graphs = [graph_lib.pad_cross_modal_graph(g, num1, num2) for g in graphs]
    padded = np.full((NUM_FOLDS, num1), -1, np.int32)
    for i, l in enumerate(labels):
      padded[i, :len(l)] = l
    stacked[part] = (jax.tree.map(lambda *xs: jnp.stack(xs), *graphs), jnp.asarray(padded))
  return stacked


def folds_train_step(state: TrainState, graphs, labels, reduction: str = "mean"):
  """One step of every fold: the sum of the folds' losses, whose gradient is
  each fold's own gradient on its own parameters."""

  def loss_fn(params):
    def one_fold(fold_params, graph):
      logits = state.apply_fn({"params": fold_params}, graph)
      return bce_loss(logits, graph.inter_targets, graph.inter_mask, reduction), logits
    losses, logits = jax.vmap(one_fold)(params, graphs)
    return losses.sum(), (losses, logits)

  (_, (losses, logits)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads)
  metrics = jax.vmap(classification_metrics)(logits, graphs, labels)
  return state, {"loss": losses.mean(), "accuracy": metrics["accuracy"].mean()}


def folds_eval_step(state: TrainState, graphs, labels):
  """Per-fold (loss, accuracy, candidate recall), each (folds,)."""
  def one_fold(fold_params, graph, fold_labels):
    logits = state.apply_fn({"params": fold_params}, graph)
    return {"loss": bce_loss(logits, graph.inter_targets, graph.inter_mask),
            **classification_metrics(logits, graph, fold_labels)}
  return jax.vmap(one_fold)(state.params, graphs, labels)


def initial_state(config, graphs) -> TrainState:
  model = rrnet_stage.make_rrnet(config)
  train_graphs = graphs["train"][0]
  keys = jax.random.split(random_streams.key(config.seed, random_streams.RRNET_INIT), NUM_FOLDS)
  params = jax.vmap(lambda key, graph: model.init(key, graph)["params"])(keys, train_graphs)
  tx = optim.make_optimizer(config.rrnet.optimizer, config.rrnet.num_steps)
  return create_train_state(model.apply, params, tx)


@dataclasses.dataclass(frozen=True)
class Trained:
  """The stacked fold graphs and the trained state (a leading fold axis)."""
  graphs: dict[str, tuple[graph_lib.CrossModalGraph, jax.Array]]
  state: TrainState


def train(run: Run, data: FoldData) -> Trained:
  """Every fold's RR-Net in one stage (parameters with a leading fold axis)."""
  config = run.config
  graphs = build_fold_graphs(config, data)
  test_means = lambda state: jax.tree.map(jnp.mean, compiled(folds_eval_step)(
      state, *graphs["test"]))
  state = run.train(TrainingStage(
      name="rrnet", init=lambda: initial_state(config, graphs), step=folds_train_step,
      batches=lambda step: graphs["train"], num_steps=config.rrnet.num_steps,
      checkpoint_every=config.rrnet.checkpoint_every,
      static={"reduction": config.rrnet.loss_reduction},
      validate=test_means, validate_every=config.log_every, placement="as_given"))
  return Trained(graphs, state)


def results(run: Run, data: FoldData, trained: Trained) -> dict[str, Any]:
  """Mean and std over folds of RR-Net's and the baseline's test accuracy."""
  test = jax.device_get(compiled(folds_eval_step)(trained.state, *trained.graphs["test"]))
  baseline = data.examples.baseline_fold_accuracy()
  out = {"baseline/accuracy_mean": float(baseline.mean()),
         "baseline/accuracy_std": float(baseline.std()),
         "rrnet/accuracy_mean": float(test["accuracy"].mean()),
         "rrnet/accuracy_std": float(test["accuracy"].std()),
         "rrnet/candidate_recall_mean": float(test["candidate_recall"].mean())}
  for fold in range(NUM_FOLDS):
    out[f"rrnet/fold{fold + 1}_accuracy"] = float(test["accuracy"][fold])
    out[f"baseline/fold{fold + 1}_accuracy"] = float(baseline[fold])
  return out


TASK = Task(name="rrnet_folds", prepare=prepare, train=train, results=results, stages=STAGES,
            inputs=lambda config: {"rrnet": [data_path(config)]},
            headline=("*/accuracy_mean", "*/accuracy_std"))
