"""The sdml_retrieval experiment (SDML): every config field, its default and its range.

JAX-free (configs are data): the registry (`xmjax.configs.registry`) reads
it to check a config before any data is loaded. The task:
`xmjax.train.experiments.sdml_retrieval`.
"""

from __future__ import annotations

import ml_collections

from xmjax.configs.ranges import (greater_than, header_rules, inside, one_of, positive,
                                 retrieval_train_rules)
from xmjax.configs.registry import Experiment
from xmjax.configs.schemas import retrieval_data_config, run_header

# Mirrors of code registries (tests/test_structure.py keeps them equal).
INITS = ("pytorch", "flax")                       # xmjax.models.sdml.INITS
SELECTION = ("supervised", "loss")                # xmjax.train.sdml_step.SELECTION


def schema() -> ml_collections.ConfigDict:
  """SDML: per-modality autoencoders into a fixed orthogonal subspace."""
  c = run_header("sdml", "sdml_retrieval")
  c.add_modality = ""   # train only this modality against the saved P of --workdir
  # The authors feed the papers' feature files raw; standardising is a choice
  # (sdml_mfeat makes it: its views' scales differ by orders of magnitude).
  c.data = retrieval_data_config(standardize=False)
  c.model = ml_collections.ConfigDict(dict(
      hidden=(1024, 1024), code_dim=512, balance=0.5,
      normalize_decoder=True,   # decoder output L2-normalised, as the authors' Dense_Net
      initializer="pytorch"))   # pytorch (the authors' nn.Linear defaults) | flax
  c.train = ml_collections.ConfigDict(dict(
      batch_size=100,
      num_epochs=200,                   # per modality, in its own epochs (its full batches)
      checkpoint_every=500,
      validate_every_epochs=1,          # each modality's own epochs between validations
      select_on="supervised",           # supervised (the authors': ||P^T h - y||) | loss
      learning_rate=2e-4,               # every modality but those in learning_rate_overrides
      learning_rate_overrides="image=1e-4",
      b1=0.5, b2=0.999))
  c.eval = ml_collections.ConfigDict(dict(cca_components=10, map_k=50))
  return c


def rules() -> dict:
  return {
      **header_rules(), **retrieval_train_rules(),
      "model.balance": inside(0, 1, closed=True),
      "model.initializer": one_of(*INITS),
      "train.select_on": one_of(*SELECTION),
      "train.learning_rate": greater_than(0),
      **positive("train.validate_every_epochs"),
  }


EXPERIMENT = Experiment(name="sdml_retrieval", schema=schema, rules=rules(),
                        task="xmjax.train.experiments.sdml_retrieval")
