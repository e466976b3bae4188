"""Model selection inside a jitted step: keep the variables of the best
validation criterion seen so far, validating only on the steps it is due
(`lax.cond`, so the other steps pay nothing for it). DRSL and SDML select
their networks this way."""

from __future__ import annotations

from typing import Any, Callable, NamedTuple

import jax
import jax.numpy as jnp

__all__ = ["Best", "keep_best"]


class Best(NamedTuple):
  """The kept variables, their criterion (lower is better; +inf before the
  first validation) and the step they were reached at (-1 before)."""
  variables: Any
  criterion: jax.Array
  step: jax.Array


def keep_best(best: Best, due: jax.Array, operand: Any, step: jax.Array,
              criterion: Callable[[Any], jax.Array],
              variables: Callable[[Any], Any]) -> Best:
  """When `due`: `criterion(operand)`, and if it is below `best.criterion`,
  `variables(operand)` with that criterion at `step`; else `best` unchanged."""

  def validate(operand):
    value = criterion(operand)
    better = value < best.criterion
    return Best(jax.tree.map(lambda new, old: jnp.where(better, new, old), variables(operand),
                             best.variables),
                jnp.where(better, value, best.criterion),
                jnp.where(better, step, best.step))

  return jax.lax.cond(due, validate, lambda operand: best, operand)
