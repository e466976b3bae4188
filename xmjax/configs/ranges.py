"""Field rules: what a config value must satisfy, as data (imports no JAX).

Each experiment states its rules next to its schema
(`xmjax/train/experiments/<name>_schema.py`, `rules()`), from the builders
here; the runner checks them right after the schema (unknown fields) and
before any data is loaded, so a bad value fails with `config.<field>: ...`
before anything is read or written. The choices that mirror a code registry
are spelled out as tuples (here the ones several experiments use, the rest
in their schema module), and tests/test_structure.py keeps each equal to
its registry.

Checks that need the data (k1 below the number of nodes in a graph, a batch
no larger than the training rows, widths that must line up) stay in each
task's `prepare`, next to the data they read.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Mapping

from xmjax.configs.fields import comma_list, get_field

__all__ = ["DTYPES", "OPTIMIZERS", "Rule", "SCHEDULES", "at_least", "check", "greater_than",
           "header_rules", "inside", "one_of", "optimizer_rules", "positive",
           "retrieval_train_rules", "subset_of"]

# Mirrors of code registries (tests/test_structure.py keeps them equal).
OPTIMIZERS = ("sgd", "adam", "adamw")                        # xmjax.train.optim.OPTIMIZERS
SCHEDULES = ("constant", "cosine", "warmup_cosine", "step")  # xmjax.train.optim.SCHEDULES
DTYPES = ("bfloat16", "float32")                             # xmjax.train.state.DTYPES


@dataclasses.dataclass(frozen=True)
class Rule:
  """`ok(value)` must hold; otherwise the error says `config.<field>: <problem>`."""
  ok: Callable[[Any], bool]
  problem: Callable[[Any], str]


def at_least(low) -> Rule:
  return Rule(lambda v: v >= low, lambda v: f"must be >= {low}, got {v}")


def greater_than(low) -> Rule:
  return Rule(lambda v: v > low, lambda v: f"must be > {low}, got {v}")


def inside(low, high, *, closed: bool = False) -> Rule:
  """low < v < high (low <= v <= high if closed)."""
  if closed:
    return Rule(lambda v: low <= v <= high, lambda v: f"must be in [{low}, {high}], got {v}")
  return Rule(lambda v: low < v < high, lambda v: f"must be in ({low}, {high}), got {v}")


def one_of(*choices, kind: str = "") -> Rule:
  label = f"{kind} " if kind else ""
  return Rule(lambda v: v in choices,
              lambda v: f"unknown {label}{v!r}; choose one of {choices}")


def subset_of(*choices) -> Rule:
  """A comma-separated list ("" = none) of distinct names from `choices`."""
  def names(v):
    return list(comma_list(v))
  return Rule(lambda v: set(names(v)) <= set(choices) and len(set(names(v))) == len(names(v)),
              lambda v: f"expected distinct names from {choices}, comma-separated, got {v!r}")


def positive(*fields: str) -> dict[str, Rule]:
  return {field: at_least(1) for field in fields}


def header_rules() -> dict[str, Rule]:
  """The fields of `xmjax.configs.schemas.run_header`."""
  return {"dtype": one_of(*DTYPES, kind="dtype"), "log_every": at_least(1)}


def optimizer_rules(prefix: str) -> dict[str, Rule]:
  """The fields of an `optimizer_config` section at `prefix`."""
  return {f"{prefix}.name": one_of(*OPTIMIZERS, kind="optimizer"),
          f"{prefix}.schedule": one_of(*SCHEDULES, kind="schedule"),
          f"{prefix}.learning_rate": greater_than(0)}


def retrieval_train_rules() -> dict[str, Rule]:
  return positive("train.batch_size", "train.num_epochs", "train.checkpoint_every")


def check(config, rules: Mapping[str, Rule]) -> None:
  """Raises InputError naming the first field of `config` outside its rule."""
  for field, rule in rules.items():
    value = get_field(config, field)
    try:
      ok = rule.ok(value)
    except TypeError:
      ok = False
    if not ok:
      from xmjax.errors import InputError
      raise InputError(f"config.{field}: {rule.problem(value)}")
