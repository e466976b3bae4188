"""RR-Net on top of a CNN baseline for image classification (paper IV-B).

Data: the shipped UCI digits (`data.name = "optdigits"`), the shipped UCI Multiple
Features (`"mfeat"`, feature vectors for an MLP baseline) or CIFAR-10/100 from
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
from the same run, plus train accuracies and the candidate recall, and the
same for every ablation in `rrnet.ablations` (`xmjax.train.rrnet_ablations`:
inter units only, no instance graph, no label graph, a graph-free re-ranker
of the same size), each trained after RR-Net on the same graphs under its
own prefix.
"""

from __future__ import annotations

import dataclasses
from typing import Any

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax import graph as graph_lib
from xmjax.data import standardize
from xmjax.data.images import ClassificationData, load_data
from xmjax.errors import InputError
from xmjax.train import provenance
from xmjax.train.baseline import BaselineOutputs, train_baseline
from xmjax.train.rrnet_ablations import ablation_stage, parse_ablations
from xmjax.train.rrnet_stage import check_units, class_node_features, evaluate_rrnet, rrnet_stage
from xmjax.train.runner import Run, Task
from xmjax.train.state import TrainState


# The baseline CNN depends only on the data and its own fields, so a sweep
# over RR-Net fields trains it once (xmjax.train.sweep shares it).
STAGES = (provenance.Stage("baseline", include=("baseline.", "data.", "seed", "dtype"),
                           outputs=("baseline/outputs.npz",)),
          provenance.Stage("rrnet"))


# ----------------------------------------------------------------------------
# Validation: everything is checked before the workdir is touched (field
# ranges and choices by the runner, xmjax.configs.ranges; here what needs the data).


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
# The graphs RR-Net trains and is tested on.


def build_graphs(config, baseline: dict[str, BaselineOutputs], data: ClassificationData):
  """Padded graphs (train, test, valid if any), each built from its own rows,
  and padded labels (-1 on padding)."""
  r = config.rrnet
  classes = class_node_features(r, config.data.name, data.num_classes, config.seed)
  parts = data.graph_parts
  features = [baseline[part].features for part in parts]
  if r.standardize_features:
    features = standardize(*features)
  graphs = {}
  for part, x in zip(parts, features):
    labels = data.part(part).labels
    graph = graph_lib.classification_graph(
        x, classes, baseline[part].probs, labels,
        k1=r.k1, k2=r.k2, num_candidates=r.num_candidates, metric=r.metric)
    graph = graph_lib.pad_to_bucket(graph, r.pad_multiple)
    padded = np.full(graph.nodes1.shape[0], -1, np.int32)
    padded[:len(labels)] = labels
    graphs[part] = (graph, jnp.asarray(padded))
  return graphs


@dataclasses.dataclass(frozen=True)
class Trained:
  """The baseline's outputs per part, and per trained stage ("rrnet" and
  each ablation's prefix) its state and the graphs (inputs) it runs on."""
  baseline: dict[str, BaselineOutputs]
  stages: dict[str, tuple[TrainState, dict]]


# ----------------------------------------------------------------------------


def prepare(config: ml_collections.ConfigDict) -> ClassificationData:
  """Validates the config and loads the data; touches no file."""
  check_units(config.rrnet)
  if config.data.name == "mfeat":   # feature vectors: no image baseline, no image augmentation
    if config.baseline.arch != "mlp":
      raise InputError(f"config.baseline.arch: data.name 'mfeat' holds feature vectors; use "
                       f"'mlp', not {config.baseline.arch!r}")
    if config.baseline.crop_padding or config.baseline.flip:
      raise InputError("config.baseline.crop_padding / flip: feature vectors (data.name "
                       "'mfeat') cannot be cropped or flipped; set 0 / False")
  data = load_data(config)
  check_graph_sizes(config, len(data.baseline), len(data.train), len(data.test),
                    data.num_classes, len(data.valid) if data.valid is not None else None)
  class_node_features(config.rrnet, config.data.name, data.num_classes, config.seed)
  return data


def train(run: Run, data: ClassificationData) -> Trained:
  """The baseline (cached), the graphs from its outputs, then RR-Net."""
  config = run.config
  run.record("data_split.npz", **data.rows)
  with run.timed("baseline"):
    baseline = train_baseline(
        run, data.baseline.images, data.baseline.labels, (data.pixel_mean, data.pixel_std),
        data.num_classes, predict_on={part: data.part(part).images for part in data.graph_parts})
  with run.timed("graph"):
    graphs = jax.block_until_ready(build_graphs(config, baseline, data))
  with run.timed("rrnet"):
    stages = {"rrnet": (run.train(rrnet_stage(config, graphs)), graphs)}
  probs = {part: baseline[part].probs for part in graphs}
  for name in parse_ablations(config.rrnet.ablations):
    stage, inputs = ablation_stage(name, config, graphs, probs)
    with run.timed(stage.name):
      stages[stage.name] = (run.train(stage), inputs)
  return Trained(baseline, stages)


def results(run: Run, data: ClassificationData, trained: Trained) -> dict[str, Any]:
  """The baseline's, RR-Net's and each ablation's accuracies (the trained
  stages' also on their training and validation graphs)."""
  out = {f"baseline/{part}_accuracy": _accuracy(trained.baseline[part].probs,
                                                data.part(part).labels)
         for part in data.graph_parts if part != "train"}
  for prefix, (state, inputs) in trained.stages.items():
    out[f"{prefix}/num_params"] = int(sum(np.size(p) for p in jax.tree.leaves(state.params)))
    for part in data.graph_parts:   # valid too when there is one: settings are chosen there
      metrics = evaluate_rrnet(state, *inputs[part])
      out.update({f"{prefix}/{part}_{k}": metrics[k]
                  for k in ("accuracy", "loss", "candidate_recall")})
  return out


def _accuracy(probs: np.ndarray, labels: np.ndarray) -> float:
  return float(np.mean(np.argmax(probs, axis=1) == labels))


TASK = Task(name="rrnet_classification", prepare=prepare, train=train, results=results,
            stages=STAGES,
            headline=("*/test_accuracy",))
