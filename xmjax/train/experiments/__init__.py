"""Registry of experiments: config.experiment -> module with train_and_evaluate.

Each experiment module defines `default_config()` (the schema every config
of that experiment extends) and `train_and_evaluate(config, workdir)`.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from xmjax.configs import sibling_config  # noqa: F401  (re-exported for old configs)
from xmjax.errors import InputError

EXPERIMENTS = {
    "rrnet_classification": "xmjax.train.experiments.rrnet_classification",
    "drsl_retrieval": "xmjax.train.experiments.drsl_retrieval",
    "sdml_retrieval": "xmjax.train.experiments.sdml_retrieval",
    "rrnet_folds": "xmjax.train.experiments.rrnet_folds",
    "rrnet_ratings": "xmjax.train.experiments.rrnet_ratings",
    "racg_retrieval": "xmjax.train.experiments.racg_retrieval",
}


def get_experiment(name: str) -> ModuleType:
  if name not in EXPERIMENTS:
    raise InputError(f"config.experiment: unknown experiment {name!r}; "
                     f"choose one of {sorted(EXPERIMENTS)}")
  return importlib.import_module(EXPERIMENTS[name])


def train_and_evaluate(config, workdir: str, **kwargs) -> dict:
  """Runs config.experiment end to end in `workdir`; returns results.json's content."""
  return get_experiment(config.experiment).train_and_evaluate(config, workdir, **kwargs)
