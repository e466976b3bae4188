"""The RR-Net stage shared by the RR-Net tasks (classification, folds, ratings):
its units check, label-node attributes, the model from its config
section, the full-graph train and evaluation steps, and the stage that
trains it on one graph (`rrnet_stage`)."""

from __future__ import annotations

import jax
import ml_collections
import numpy as np

from xmjax import graph as graph_lib
from xmjax import random_streams
from xmjax.data import load_label_embeddings
from xmjax.errors import InputError
from xmjax.models import RRNet, bce_loss, classification_metrics, parse_units
from xmjax.models.build import from_config
from xmjax.train import optim, parallel
from xmjax.train.runner import TrainingStage, compiled
from xmjax.train.state import TrainState, compute_dtype, create_train_state

__all__ = ["LABEL_FEATURES", "check_units", "class_node_features",
           "evaluate_rrnet", "make_rrnet", "rrnet_eval_step", "rrnet_stage", "rrnet_train_step"]


# Label-node attributes: one-hot, seeded Gaussian, the shipped MiniLM
# embeddings of the class names, or the user's vectors (rrnet.label_embeddings).
LABEL_FEATURES = ("onehot", "random", "text", "file")


def check_units(r: ml_collections.ConfigDict) -> None:
  """config.rrnet.units parses (its ranges and choices: xmjax.configs.ranges)."""
  try:
    parse_units(r.units)
  except ValueError as e:
    raise InputError(f"config.rrnet.{e}") from None


def class_node_features(rrnet_config, dataset: str, num_classes: int, seed: int) -> np.ndarray:
  """Fixed attributes of the label nodes, (num_classes, d), per rrnet.label_features."""
  kind = rrnet_config.label_features
  if kind == "onehot":
    return np.eye(num_classes, dtype=np.float32)
  if kind == "random":
    rng = random_streams.generator(seed, random_streams.CLASS_NODE_FEATURES)
    return rng.standard_normal((num_classes, rrnet_config.label_dim)).astype(np.float32)
  if kind == "file" and not rrnet_config.label_embeddings:
    raise InputError("config.rrnet.label_embeddings: label_features='file' needs a path")
  features = load_label_embeddings(dataset, rrnet_config.label_embeddings if kind == "file"
                                   else None)
  if features.shape[0] != num_classes:
    where = rrnet_config.label_embeddings or f"the shipped {dataset!r} embeddings"
    raise InputError(f"{where}: {features.shape[0]} label vectors for {num_classes} classes")
  return features


def make_rrnet(config) -> RRNet:
  r = config.rrnet
  return from_config(RRNet, r, fixed_degree=True, dtype=compute_dtype(config.dtype))


def rrnet_train_step(state: TrainState, graph: graph_lib.CrossModalGraph, labels: jax.Array,
                     *inputs: jax.Array, reduction: str = "mean"):
  """One full-graph step: BCE over every real inter edge. `inputs`: the
  model's inputs after the graph, if any (the graph-free re-ranker's scores)."""

  def loss_fn(params):
    logits = state.apply_fn({"params": params}, graph, *inputs)
    return bce_loss(logits, graph.inter_targets, graph.inter_mask, reduction), logits

  (loss, logits), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads)
  return state, {"loss": loss, **classification_metrics(logits, graph, labels)}


def rrnet_eval_step(state: TrainState, graph: graph_lib.CrossModalGraph, labels: jax.Array,
                    *inputs: jax.Array):
  logits = state.apply_fn({"params": state.params}, graph, *inputs)
  return {"loss": bce_loss(logits, graph.inter_targets, graph.inter_mask),
          **classification_metrics(logits, graph, labels)}


def place_graphs(config, graphs: dict) -> dict:
  """Edge-sharded over config.mesh when rrnet.edge_sharding (labels and
  further inputs replicated), else as they are."""
  if not config.rrnet.edge_sharding:
    return graphs
  mesh = parallel.make_mesh(config)
  return {part: (parallel.shard_graph_edges(graph, mesh),
                 *(parallel.replicate(x, mesh) for x in rest))
          for part, (graph, *rest) in graphs.items()}


def rrnet_stage(config, graphs: dict, *, name: str = "rrnet", model=None) -> TrainingStage:
  """RR-Net (or `model`, any module called as model(graph, *inputs)) trained
  full-graph on graphs["train"] and validated on graphs["valid"] when there
  is one. Each part is (graph, padded labels, *further model inputs)."""
  r = config.rrnet
  model = make_rrnet(config) if model is None else model
  graphs = place_graphs(config, graphs)
  train_graph, train_labels, *train_inputs = graphs["train"]

  def init():
    params = model.init(random_streams.key(config.seed, random_streams.RRNET_INIT),
                        train_graph, *train_inputs)["params"]
    state = create_train_state(model.apply, params, optim.make_optimizer(r.optimizer, r.num_steps))
    return parallel.replicate(state, parallel.make_mesh(config)) if r.edge_sharding else state

  validate = None
  if "valid" in graphs:
    validate = lambda state: compiled(rrnet_eval_step)(state, *graphs["valid"])
  return TrainingStage(
      name=name, init=init, step=rrnet_train_step,
      batches=lambda step: graphs["train"], num_steps=r.num_steps,
      checkpoint_every=r.checkpoint_every, static={"reduction": r.loss_reduction},
      validate=validate, validate_every=config.log_every,
      placement="as_given")   # full-graph: edge-sharded by place_graphs, or on one device


def evaluate_rrnet(state: TrainState, graph: graph_lib.CrossModalGraph,
                   labels: jax.Array, *inputs: jax.Array) -> dict[str, float]:
  """Loss, accuracy and candidate recall of `state` on one graph, on the host."""
  return {k: float(v) for k, v in
          jax.device_get(compiled(rrnet_eval_step)(state, graph, labels, *inputs)).items()}
