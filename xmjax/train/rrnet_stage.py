"""The RR-Net stage shared by the RR-Net tasks (classification, folds, ratings):
its config checks, label-node attributes, the model from its config
section, and the full-graph train and evaluation steps."""

from __future__ import annotations

import functools

import jax
import ml_collections
import numpy as np

from xmjax import graph as graph_lib
from xmjax.data import load_label_embeddings
from xmjax.errors import InputError
from xmjax.models import RRNet, bce_loss, classification_metrics, parse_units
from xmjax.nn.aggregation import REDUCTIONS
from xmjax.train.checks import check_optimizer, check_positive
from xmjax.train.state import TrainState, compute_dtype

__all__ = ["LABEL_FEATURES", "check_rrnet_config", "check_rrnet_model", "class_node_features",
           "make_rrnet", "rrnet_eval_step", "rrnet_train_step"]


# Label-node attributes: one-hot, seeded Gaussian, the shipped MiniLM
# embeddings of the class names, or the user's vectors (rrnet.label_embeddings).
LABEL_FEATURES = ("onehot", "random", "text", "file")


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
