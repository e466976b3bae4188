"""The rrnet_classification experiment: every config field, its default and its range.

JAX-free (configs are data): the registry (`xmjax.configs.registry`) reads
it to check a config before any data is loaded. The task:
`xmjax.train.experiments.rrnet_classification`.
"""

from __future__ import annotations

import ml_collections

from xmjax.configs.ranges import (at_least, greater_than, header_rules, one_of, optimizer_rules,
                                 positive, subset_of)
from xmjax.configs.registry import Experiment
from xmjax.configs.schemas import optimizer_config, run_header

# Mirrors of code registries (tests/test_structure.py keeps them equal).
# xmjax.models.cnn.BASELINES:
BASELINE_ARCHS = ("digits_cnn", "resnet18", "resnet50", "mobilenet_v2", "spec_cnn", "mlp")
AGGREGATIONS = ("mean", "sum", "max")                        # xmjax.nn.aggregation.REDUCTIONS
# xmjax.train.rrnet_ablations.ABLATIONS:
RRNET_ABLATIONS = ("inter_only", "no_instance_graph", "no_label_graph", "mlp_reranker")


def schema() -> ml_collections.ConfigDict:
  """RR-Net over a CNN baseline on image classification (digits, CIFAR)."""
  c = run_header("rrnet_classification", "rrnet_classification")
  c.data = ml_collections.ConfigDict(dict(
      # The shipped UCI 8x8 digits, the shipped UCI Multiple Features
      # ("mfeat", feature vectors: use baseline.arch "mlp"), "cifar10" /
      # "cifar100" (TFDS, or an image folder in `path`), or "esc10" /
      # "esc50" (spectrogram folder in `path`, fold `test_fold` tests).
      name="optdigits",
      # optdigits, mfeat: "" = the shipped file; cifar10/100: an image folder
      # <split>/<class>/<image> (directory or .tar/.tar.gz) read instead of
      # TFDS; esc10/50: the spectrogram folder (directory or .tar.gz).
      path="",
      image_size=(),           # image folders: (height, width) to resize to; () = as stored
      max_per_class=0,         # image folders: keep the first N images of each class per split (0 = all)
      cache_dir="",            # decoded image/spectrogram folders ("" = $XMJAX_CACHE_DIR or ~/.cache/xmjax)
      test_fold=1,             # esc10/50: the ESC fold (1..5) that is the test split
      views="",                # mfeat: views concatenated as the instance features ("" = all six)
      data_dir="",             # TFDS sets: a prepared copy ("" = TFDS's default)
      # TFDS sets: > 0 replaces the files by this many generated examples of
      # the real shapes and label space per split (smoke tests, throughput).
      fake_examples=0,
      fake_test_examples=0,    # generated test examples (0: fake_examples)
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
      arch="digits_cnn",       # or resnet18, resnet50, mobilenet_v2 (CIFAR variants), spec_cnn, mlp
      width=1.0,               # channel multiplier (1.0 = the published networks)
      num_epochs=20, batch_size=64, eval_batch_size=512,
      checkpoint_every=200,
      crop_padding=1,          # random-crop augmentation: pad by this many pixels, crop back
      flip=False,              # random left-right flips (off for digits)
      optimizer=optimizer_config(learning_rate=0.05, schedule="cosine")))
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
      optimizer=optimizer_config(),
      # Ablations trained in the same run, each under its own results prefix
      # (xmjax.train.rrnet_ablations): comma-separated of inter_only,
      # no_instance_graph, no_label_graph, mlp_reranker; "" = none.
      ablations=""))
  return c


def rrnet_rules() -> dict:
  """The rrnet section's rules every RR-Net experiment shares."""
  return {"rrnet.aggregation": one_of(*AGGREGATIONS),
          "rrnet.loss_reduction": one_of("mean", "sum"),
          **optimizer_rules("rrnet.optimizer"),
          **positive("rrnet.num_steps", "rrnet.checkpoint_every", "rrnet.latent",
                     "rrnet.hidden")}


def rrnet_on_instances_rules() -> dict:
  """RR-Net over instance and label nodes (classification, folds)."""
  return {**rrnet_rules(), "rrnet.label_features": one_of("onehot", "random", "text", "file"),
          **positive("rrnet.pad_multiple")}


def rules() -> dict:
  return {
      **header_rules(), **rrnet_on_instances_rules(),
      "baseline.arch": one_of(*BASELINE_ARCHS, kind="architecture"),
      "rrnet.ablations": subset_of(*RRNET_ABLATIONS),
      "baseline.width": greater_than(0),
      "data.max_per_class": at_least(0),
      **optimizer_rules("baseline.optimizer"),
      **positive("baseline.num_epochs", "baseline.batch_size", "baseline.eval_batch_size",
                 "baseline.checkpoint_every"),
  }


EXPERIMENT = Experiment(name="rrnet_classification", schema=schema, rules=rules(),
                        task="xmjax.train.experiments.rrnet_classification")
