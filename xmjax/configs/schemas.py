"""Experiment schemas: `schema(name)`, the locked default config of an
experiment, and the config sections several experiments share.

Each experiment's own fields live next to its task
(`xmjax/train/experiments/<name>_schema.py`, found by
`xmjax.configs.registry`). Configs are data: this module imports
ml_collections and nothing of JAX, so loading any `configs/*.py` costs no
accelerator initialisation.

`schema` returns a *locked* ConfigDict: a config file or a
`--config.X=...` override that names a field the schema lacks fails at once,
with ml_collections' "did you mean" suggestion, and a field keeps its type.
"""

from __future__ import annotations

import ml_collections

__all__ = ["mesh_config", "optimizer_config", "retrieval_data_config", "run_header", "schema"]


def run_header(name: str, experiment: str) -> ml_collections.ConfigDict:
  """The fields every experiment's config starts with."""
  return ml_collections.ConfigDict(dict(
      name=name, experiment=experiment,
      seed=0,
      dtype="float32",   # or "bfloat16" (params, optimizer and loss stay float32)
      log_every=50,
      # The devices the runner places minibatch stages on, data parallel.
      mesh=mesh_config()))


def optimizer_config(**overrides) -> ml_collections.ConfigDict:
  """Every optimizer field a config may set (paper SGD defaults), with overrides."""
  config = ml_collections.ConfigDict(dict(
      name="sgd", learning_rate=0.01, momentum=0.9, weight_decay=5e-4, schedule="constant",
      warmup_steps=0, decay_factor=0.1, decay_at=(0.5, 0.75), b1=0.9, b2=0.999))
  config.update(overrides)
  return config


def mesh_config(**overrides) -> ml_collections.ConfigDict:
  config = ml_collections.ConfigDict(dict(
      data=0))  # devices on the data axis; 0 = every local device
  config.update(overrides)
  return config


def retrieval_data_config(**overrides) -> ml_collections.ConfigDict:
  c = ml_collections.ConfigDict(dict(
      format="mfeat",      # mfeat | sdml_h5 | xmedia_mat | pascal_mat | wikipedia_mat
      dir="",              # directory holding the file(s); "" = shipped data (mfeat)
      file="",             # sdml_h5: the *.h5py name; xmedia_mat: XMediaFeatures.mat;
                           # wikipedia_mat: raw_features.mat
      modalities="",       # comma-separated modalities to use ("" = all of the data set)
      valid_len=0,         # sdml_h5: first rows of the test split used for validation
      valid_fraction=0.1,  # pascal_mat, wikipedia_mat, mfeat: stratified validation part of training
      test_fraction=0.2,   # mfeat: stratified test part
      split_seed=0,
      standardize=True))   # per modality, training statistics only
  c.update(overrides)
  return c


def schema(experiment: str) -> ml_collections.ConfigDict:
  """The locked default config of `experiment` (a shipped experiment's name,
  or the dotted path of a module defining `EXPERIMENT`)."""
  from xmjax.configs import registry
  return registry.experiment(experiment).locked_schema()
