"""Dotted config fields and comma-separated lists: the two small parsers
every config reader needs, in one light module (no JAX).

    get_field(config, "rrnet.num_steps")          # 300
    set_field(config, "rrnet.num_steps", 10)
    comma_list(" intra, inter,,inter ")           # ("intra", "inter", "inter")
"""

from __future__ import annotations

import difflib
from typing import Any, Sequence

from xmjax.errors import InputError

__all__ = ["comma_list", "field_problem", "get_field", "set_field"]


def comma_list(value: str | Sequence[str]) -> tuple[str, ...]:
  """A comma-separated string (or a sequence) as its stripped, non-empty names."""
  parts = value.split(",") if isinstance(value, str) else value
  return tuple(p.strip() for p in parts if p.strip())


def field_problem(config, field: str, source: str = "") -> str | None:
  """None if `config` has the dotted `field`; else what is wrong, naming the
  closest spelling and the nearest existing parent's fields, e.g.
  "config.rrnet.num_step: unknown config field (did you mean
  config.rrnet.num_steps?); fields of config.rrnet: [...]". `source` (such
  as the command-line argument) is named after the field when given."""
  node, parts = config, field.split(".")
  for i, key in enumerate(parts):
    if not hasattr(node, "keys") or key not in node:
      parent = ".".join(["config"] + parts[:i])
      known = sorted(node.keys()) if hasattr(node, "keys") else []
      close = difflib.get_close_matches(key, [str(k) for k in known], n=1)
      origin = f" (from {source})" if source else ""
      if not hasattr(node, "keys"):
        return (f"config.{'.'.join(parts[:i])}: not a section, so config.{field} does not "
                f"exist{origin}")
      hint = f" (did you mean {parent}.{close[0]}?)" if close else ""
      return f"config.{field}: unknown config field{origin}{hint}; fields of {parent}: {known}"
    node = node[key]
  return None


def get_field(config, field: str) -> Any:
  """The value of the dotted `field`; InputError naming it if it is not there."""
  problem = field_problem(config, field)
  if problem:
    raise InputError(problem)
  node = config
  for key in field.split("."):
    node = node[key]
  return node


def set_field(config, field: str, value: Any) -> None:
  """Sets the dotted `field` (which must exist); InputError naming it if not."""
  get_field(config, field)
  *path, last = field.split(".")
  node = config
  for key in path:
    node = node[key]
  node[last] = value
