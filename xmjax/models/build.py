"""Models built from their config section: every constructor field whose
name the section also has is taken from it, so a model's config section and
its module read the same and a new field needs no plumbing."""

from __future__ import annotations

import dataclasses
from typing import Any, Mapping

__all__ = ["from_config"]

# Fields every flax Module has that a config section never sets.
_MODULE_ONLY = ("name", "parent")


def from_config(cls, section: Mapping[str, Any], **given):
  """cls(**matching fields of `section`, **given): lists become tuples
  (flax modules must hash their fields); `given` supplies what the config
  does not say (data-dependent widths, dtype) and wins over the section."""
  names = {f.name for f in dataclasses.fields(cls) if f.init} - set(_MODULE_ONLY)
  kwargs = {}
  for name in names & set(section.keys()):
    value = section[name]
    kwargs[name] = tuple(value) if isinstance(value, list) else value
  kwargs.update(given)
  return cls(**kwargs)
