"""Models built from their config section: every constructor field whose
name the section also has is taken from it, so a model's config section and
its module read the same and a new field needs no plumbing."""

from __future__ import annotations

import dataclasses
import difflib
from typing import Any, Iterable, Mapping

__all__ = ["from_config"]

# Fields every flax Module has that a config section never sets.
_MODULE_ONLY = ("name", "parent")


def from_config(cls, section: Mapping[str, Any], *, ignore: Iterable[str] = (), **given):
  """cls(**matching fields of `section`, **given): lists become tuples
  (flax modules must hash their fields); `given` supplies what the config
  does not say (data-dependent widths, dtype) and wins over the section.

  A section may hold other settings (a stage's steps, its learning rate),
  so keys that are not fields are skipped. In a plain mapping (not a locked
  config, whose schema already refuses unknown fields) a key that reads as
  a misspelt field would be lost silently, so it is a ValueError with the
  field it resembles; list such keys in `ignore` when they are meant.
  """
  names = {f.name for f in dataclasses.fields(cls) if f.init} - set(_MODULE_ONLY)
  if not getattr(section, "is_locked", False):
    for key in sorted(set(section.keys()) - names - set(given) - set(ignore)):
      close = difflib.get_close_matches(key, sorted(names), n=1, cutoff=0.8)
      if close:
        raise ValueError(f"{cls.__name__}: config key {key!r} is not one of its fields; did "
                         f"you mean {close[0]!r}? (pass ignore=({key!r},) if it is meant)")
  kwargs = {}
  for name in names & set(section.keys()):
    value = section[name]
    kwargs[name] = tuple(value) if isinstance(value, list) else value
  kwargs.update(given)
  return cls(**kwargs)
