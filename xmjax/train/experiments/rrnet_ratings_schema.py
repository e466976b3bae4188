"""The rrnet_ratings experiment (RR-Net on social ratings): every config
field, its default and its range.

JAX-free (configs are data): the registry (`xmjax.configs.registry`) reads
it to check a config before any data is loaded. The task:
`xmjax.train.experiments.rrnet_ratings`.
"""

from __future__ import annotations

import ml_collections

from xmjax.configs.ranges import (Rule, at_least, greater_than, header_rules, inside, one_of,
                                 positive)
from xmjax.configs.registry import Experiment
from xmjax.configs.schemas import optimizer_config, run_header
from xmjax.train.experiments.rrnet_classification_schema import rrnet_rules


def schema() -> ml_collections.ConfigDict:
  """RR-Net on social ratings (FilmTrust, Ciao, synthetic)."""
  c = run_header("rrnet_ratings", "rrnet_ratings")
  c.data = ml_collections.ConfigDict(dict(
      name="filmtrust",   # filmtrust (librec files), ciao (.mat files), synthetic
      dir="",             # directory of the files
      # Public Ciao / Epinions releases hold ratings off the grid (0) and
      # repeated (user, item) pairs. False: the first off-grid rating stops
      # the run, naming file and row. True: off-grid rows are dropped and a
      # repeated pair keeps its last rating (file order), with the counts logged.
      drop_invalid=False,
      test_fraction=0.2,
      num_splits=5,       # seeded random splits; metrics are their mean
      split_seed=0,
      # data.name="synthetic": make_social_ratings(...) arguments.
      synthetic=ml_collections.ConfigDict(dict(
          num_users=100, num_items=100, rank=4, ratings_per_user=30, trust_per_user=3,
          noise=0.3, seed=0))))
  c.rrnet = ml_collections.ConfigDict(dict(
      # Node attributes: "random" (the paper: node_dim uniform [0, 1) values
      # per user and item) or "ratings" (each user's centred training ratings
      # over the items, each item's over the users; per split).
      node_attributes="random",
      node_dim=128,            # width of the random attributes
      # node_attributes="ratings": held as "sparse" xmjax.nn.SparseRows over
      # the rated pairs (memory linear in the ratings; on a Ciao-sized set
      # 2.4 GB peak and 1.2 s a step against 14.3 GB and 7.1 s, and faster on
      # FilmTrust too: benchmarks/RESULTS.md) or as "dense" users x items
      # matrices (the same numbers up to float summation order).
      attribute_layout="sparse",
      # node_attributes="ratings": the share of the training ratings that are
      # each step's targets and are left out of that step's attributes, as
      # test ratings always are (0: every training rating in them; edge
      # mini-batches: the step's batch is its targets).
      target_fraction=0.0,
      # target_fraction > 0: predictions averaged over this many attribute
      # draws made as a training step makes them (0: one prediction whose
      # attributes hold every training rating).
      prediction_draws=0,
      inter_product=False,     # inter-edge layers also see v_s * v_r (not in the paper)
      # Inter edges: every (user, item) pair ("all_items", the paper's
      # FilmTrust graph), the rated pairs ("rated", the paper's Ciao), or the
      # rated pairs plus `unrated_per_user` seeded unrated items per user
      # ("rated_sampled": message paths like all_items' at a fraction of its edges).
      inter="all_items",
      unrated_per_user=32,
      latent=16, hidden=16, units="intra,inter,intra,inter,inter",
      aggregation="mean", layer_norm=False,
      # Rematerialise RR-Net's blocks in the backward pass (same numbers, about
      # one more forward of compute, a fraction of the activation memory).
      remat=False,
      # > 0: a full inter graph of more edges runs RR-Net's inter-edge blocks
      # in chunks of about this many edges under a rematerialised scan
      # (xmjax.nn.chunked): the same numbers, per-edge hidden activations one
      # chunk at a time. What fits the all-items FilmTrust graph; 0 = never.
      edge_chunk_size=0,
      edge_budget=4_000_000,   # more inter edges than this: edge mini-batches
      edge_batch_size=65_536,  # training ratings per mini-batch step
      num_steps=500, checkpoint_every=100, loss_reduction="mean",
      optimizer=optimizer_config()))
  # The biased matrix-factorisation baseline trained on every split (`mf/`,
  # xmjax.models.baselines.fit_biased_mf): l2 chosen from the grid on a validation part.
  c.mf = ml_collections.ConfigDict(dict(
      rank=8, l2=(1e-3, 1e-2, 1e-1, 1.0), num_steps=500, learning_rate=0.05,
      valid_fraction=0.1))
  return c


def rules() -> dict:
  return {
      **header_rules(), **rrnet_rules(),
      "data.name": one_of("filmtrust", "ciao", "synthetic", kind="data set"),
      "data.test_fraction": inside(0, 1),
      "rrnet.inter": one_of("all_items", "rated", "rated_sampled"),
      "rrnet.unrated_per_user": at_least(0),
      "rrnet.edge_chunk_size": at_least(0),
      "rrnet.node_attributes": one_of("random", "ratings"),
      "rrnet.attribute_layout": one_of("dense", "sparse"),
      "rrnet.target_fraction": Rule(lambda v: 0 <= v < 1, lambda v: f"must be in [0, 1), got {v}"),
      "rrnet.prediction_draws": at_least(0),
      "mf.learning_rate": greater_than(0),
      "mf.valid_fraction": inside(0, 1),
      **positive("data.num_splits", "rrnet.node_dim", "rrnet.edge_budget", "mf.rank",
                 "mf.num_steps", "rrnet.edge_batch_size"),
  }


EXPERIMENT = Experiment(name="rrnet_ratings", schema=schema, rules=rules(),
                        task="xmjax.train.experiments.rrnet_ratings")
