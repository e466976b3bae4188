"""The rrnet_folds experiment (RR-Net over given baseline outputs, leave one
fold out): every config field, its default and its range.

JAX-free (configs are data): the registry (`xmjax.configs.registry`) reads
it to check a config before any data is loaded. The task:
`xmjax.train.experiments.rrnet_folds`.
"""

from __future__ import annotations

import ml_collections

from xmjax.configs.ranges import header_rules
from xmjax.configs.registry import Experiment
from xmjax.configs.schemas import run_header
from xmjax.train.experiments import rrnet_classification_schema as classification


def schema() -> ml_collections.ConfigDict:
  """RR-Net over given baseline outputs, leave-one-fold-out (ESC)."""
  c = run_header("rrnet_folds", "rrnet_folds")
  c.data = ml_collections.ConfigDict(dict(
      name="esc50",   # names the class list for label_features="text" (esc50, esc10)
      # The .npz itself, or a directory holding `<name>.npz`.
      dir="",
      num_classes=0,  # 0 = from baseline_probs' width
  ))
  rrnet = classification.schema().rrnet
  del rrnet["ablations"]   # classification only
  rrnet.units = "intra,inter"
  rrnet.pad_multiple = 64
  c.rrnet = rrnet
  return c


def rules() -> dict:
  return {**header_rules(), **classification.rrnet_on_instances_rules()}


EXPERIMENT = Experiment(name="rrnet_folds", schema=schema, rules=rules(),
                        task="xmjax.train.experiments.rrnet_folds")
