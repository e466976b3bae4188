"""Train state and config plumbing shared by experiments."""

from __future__ import annotations

import difflib
import os
from typing import Any

import jax.numpy as jnp
import ml_collections
from flax.training import train_state

from xmjax.errors import InputError
from xmjax.train.files import write_text_atomic

TrainState = train_state.TrainState


class BatchStatsTrainState(TrainState):
  """A TrainState that also carries BatchNorm running statistics."""
  batch_stats: Any = None


def create_train_state(apply_fn, params, tx, batch_stats=None) -> TrainState:
  """A TrainState whose step is an int32 array from the start, so a fresh
  run and one restored from a checkpoint share one compiled train step; a
  BatchStatsTrainState when the model has BatchNorm statistics."""
  if batch_stats:
    state = BatchStatsTrainState.create(apply_fn=apply_fn, params=params, tx=tx,
                                        batch_stats=batch_stats)
  else:
    state = TrainState.create(apply_fn=apply_fn, params=params, tx=tx)
  return state.replace(step=jnp.zeros((), jnp.int32))


def init_train_state(model, tx, key, *inputs) -> TrainState:
  """A fresh train state of the flax `model`: `model.init(key, *inputs)`'s
  parameters (and BatchNorm statistics, if it has any) under optimiser `tx`."""
  variables = model.init(key, *inputs)
  return create_train_state(model.apply, variables["params"], tx,
                            batch_stats=variables.get("batch_stats"))


DTYPES = {"float32": jnp.float32, "bfloat16": jnp.bfloat16}


def compute_dtype(name: str):
  if name not in DTYPES:
    raise InputError(f"dtype: unknown dtype {name!r}; choose one of {sorted(DTYPES)}")
  return DTYPES[name]


def check_known_fields(config: ml_collections.ConfigDict,
                       schema: ml_collections.ConfigDict, prefix: str = "") -> None:
  """Raises InputError naming the first field of `config` that `schema` lacks."""
  for key, value in config.items():
    field = f"{prefix}{key}"
    if key not in schema:
      close = difflib.get_close_matches(key, list(schema.keys()), n=1)
      hint = f" (did you mean config.{prefix}{close[0]}?)" if close else ""
      raise InputError(f"config.{field}: unknown config field{hint}; known fields here: "
                       f"{sorted(schema.keys())}")
    if isinstance(value, ml_collections.ConfigDict) and isinstance(
        schema[key], ml_collections.ConfigDict):
      check_known_fields(value, schema[key], field + ".")


def check_complete_fields(config: ml_collections.ConfigDict,
                          schema: ml_collections.ConfigDict, prefix: str = "") -> None:
  """Raises InputError naming the first field of `schema` that `config`
  lacks: a task reads every field of its schema, so a config without one
  would fail only when the task reached it (after training, say)."""
  for key, value in schema.items():
    field = f"{prefix}{key}"
    if key not in config:
      shown = "a section" if isinstance(value, ml_collections.ConfigDict) else repr(value)
      raise InputError(f"config.{field}: missing; the task reads it (its schema's default: "
                       f"{shown}); start the config from the task's schema or set it")
    if isinstance(value, ml_collections.ConfigDict) and isinstance(
        config[key], ml_collections.ConfigDict):
      check_complete_fields(config[key], value, field + ".")


def save_config(config: ml_collections.ConfigDict, workdir: str) -> None:
  """Writes the run's config to workdir/config.json (what produced the results)."""
  write_text_atomic(os.path.join(workdir, "config.json"),
                    config.to_json_best_effort(indent=2, sort_keys=True) + "\n")
