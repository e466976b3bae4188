"""The vse_retrieval experiment (a plain VSE): its config fields and rules."""

import ml_collections

from xmjax.configs.ranges import greater_than, header_rules, retrieval_train_rules
from xmjax.configs.registry import Experiment
from xmjax.configs.schemas import retrieval_data_config, run_header


def schema() -> ml_collections.ConfigDict:
  c = run_header("vse", "vse_retrieval")
  c.data = retrieval_data_config(modalities="pix,fou")   # two modalities, "image" first
  c.model = ml_collections.ConfigDict(dict(layers=(1024, 256)))   # each encoder's widths
  c.train = ml_collections.ConfigDict(dict(
      batch_size=100, num_epochs=40, learning_rate=2e-4, margin=0.2, checkpoint_every=500))
  c.eval = ml_collections.ConfigDict(dict(cca_components=10, map_k=50))   # common.report's
  return c


EXPERIMENT = Experiment(
    name="vse_retrieval", schema=schema, task="xmjax.train.experiments.vse_retrieval",
    rules={**header_rules(), **retrieval_train_rules(), "train.margin": greater_than(0),
           "train.learning_rate": greater_than(0)})
