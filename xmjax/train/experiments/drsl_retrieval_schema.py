"""The drsl_retrieval experiment (DRSL): every config field, its default and its range.

JAX-free (configs are data): the registry (`xmjax.configs.registry`) reads
it to check a config before any data is loaded. The task:
`xmjax.train.experiments.drsl_retrieval`.
"""

from __future__ import annotations

import ml_collections

from xmjax.configs.ranges import header_rules, one_of, optimizer_rules, retrieval_train_rules
from xmjax.configs.registry import Experiment
from xmjax.configs.schemas import optimizer_config, retrieval_data_config, run_header

# Mirrors of code registries (tests/test_structure.py keeps them equal).
FUSIONS = ("concat", "add", "sub", "mul")               # xmjax.nn.relation.FUSIONS
TILE_REDUCTIONS = ("auto", "dot", "fused", "chunked")   # xmjax.nn.relation.TILE_REDUCTIONS
SELECTION = ("valid_map", "valid_loss", "last")         # xmjax.train.drsl_step.SELECTION
SCORERS = ("relation", "cosine")                        # xmjax.models.drsl.SCORERS


def schema() -> ml_collections.ConfigDict:
  """DRSL: relation network over every image-text pair."""
  c = run_header("drsl", "drsl_retrieval")
  c.data = retrieval_data_config(modalities="image,text")
  c.model = ml_collections.ConfigDict(dict(
      image_layers=(1024, 300), text_layers=(1024, 300), relation_hidden=1024,
      fusion="concat", batch_norm=False, block_size=128,
      tile_reduction="auto",   # auto | dot | fused | chunked: xmjax.nn.RelationNetwork
      scorer="relation")) # relation (the paper) | cosine (the encoders' cosine, no relation net)
  c.train = ml_collections.ConfigDict(dict(
      batch_size=100, num_epochs=50, checkpoint_every=500, loss_reduction="sum",
      # Also train, in the same run, the same encoders and loss scored by the
      # cosine of the embeddings (`drsl_cosine/`): what the relation network adds.
      ablation_cosine=False,
      select_on="valid_map",   # valid_map | valid_loss | last: the network evaluated
      optimizer=optimizer_config(name="adam", learning_rate=1e-4, weight_decay=0.0)))
  c.eval = ml_collections.ConfigDict(dict(cca_components=10, map_k=50))
  return c


def rules() -> dict:
  return {
      **header_rules(), **retrieval_train_rules(),
      "model.fusion": one_of(*FUSIONS),
      "model.tile_reduction": one_of(*TILE_REDUCTIONS),
      "model.scorer": one_of(*SCORERS),
      "train.select_on": one_of(*SELECTION),
      **optimizer_rules("train.optimizer"),
  }


EXPERIMENT = Experiment(name="drsl_retrieval", schema=schema, rules=rules(),
                        task="xmjax.train.experiments.drsl_retrieval")
