"""The racg_retrieval experiment (RACG): every config field, its default and its range.

JAX-free (configs are data): the registry (`xmjax.configs.registry`) reads
it to check a config before any data is loaded. The task:
`xmjax.train.experiments.racg_retrieval`.
"""

from __future__ import annotations

import ml_collections

from xmjax.configs.ranges import (header_rules, one_of, optimizer_rules, positive,
                                 retrieval_train_rules, subset_of)
from xmjax.configs.registry import Experiment
from xmjax.configs.schemas import optimizer_config, run_header

# Mirrors of code registries (tests/test_structure.py keeps them equal).
TEXT_GRAPHS = ("sparse", "dense")                 # xmjax.models.racg.TEXT_GRAPHS
BASELINES = ("vse", "scan_t2i")                   # xmjax.models.racg.SCORERS but "racg"
SCENE_KINDS = ("relational", "swap")              # xmjax.data.scenes.KINDS


def schema() -> ml_collections.ConfigDict:
  """RACG: relation-aggregated cross graph over regions and words."""
  c = run_header("racg", "racg_retrieval")
  c.data = ml_collections.ConfigDict(dict(
      name="scenes",          # scenes (embedded) | scan (precomp files in `dir`)
      dir="",
      vocab="",               # scan: vocabulary JSON ("" = the *vocab*.json in dir)
      train_split="train",
      eval_split="test",      # MS-COCO: "testall" (5000 images) for 1K and 5K
      coco_folds=False,       # also report the mean over folds of 1000 images ("1k_")
      # Text graph: "spacy" parses POS and dependencies (needs spaCy and
      # en_core_web_sm); "none" falls back to a chain over each sentence with
      # every word linking to regions. Scenes bring their own parse.
      parser="none",
      max_length=64,          # words kept per caption
      scenes=ml_collections.ConfigDict(dict(
          train_pairs=400, test_pairs=50, feature_dim=64, max_objects=4, noise=0.3,
          kind="relational",     # relational | swap (xmjax.data.scenes)
          seed=0))))             # the data's own seed (the model's is config.seed)
  c.model = ml_collections.ConfigDict(dict(
      joint_dim=1024, position_dim=128, word_dim=300, pos_dim=15, num_heads=64,
      temperature=4.0, use_positions=True,
      literal_scale=True,     # eq. 10-11's two 1/n factors as written (False: one)
      text_graph="sparse",    # words' graph: sparse (dependency parse / chain) or dense (all pairs)
      image_block=8,          # training: images per rematerialised block of the B x B scores
      eval_image_block=32, eval_caption_block=128))
  c.train = ml_collections.ConfigDict(dict(
      batch_size=80, num_epochs=30, checkpoint_every=500,
      margin=0.2, aux_weight=0.2, beta=0.7, gamma=0.3,
      ablation_no_cross=False,
      # Baselines trained in the same run on the same encoders, loss and
      # batches, each under its own prefix: comma-separated of vse, scan_t2i.
      baselines="",
      optimizer=optimizer_config(name="adam", learning_rate=2e-4, weight_decay=0.0,
                                       schedule="step", decay_at=(0.5,), decay_factor=0.1)))
  c.eval = ml_collections.ConfigDict(dict(rerank=True, rerank_k1=15))
  return c


def rules() -> dict:
  return {
      **header_rules(), **optimizer_rules("train.optimizer"),
      "data.name": one_of("scenes", "scan", kind="data set"),
      "data.parser": one_of("none", "spacy"),
      "data.scenes.kind": one_of(*SCENE_KINDS, kind="scenes kind"),
      "train.baselines": subset_of(*BASELINES),
      "model.text_graph": one_of(*TEXT_GRAPHS, kind="text graph"),
      **retrieval_train_rules(),
      **positive("model.image_block", "model.eval_image_block", "model.eval_caption_block",
                 "data.max_length"),
  }


EXPERIMENT = Experiment(name="racg_retrieval", schema=schema, rules=rules(),
                        task="xmjax.train.experiments.racg_retrieval")
