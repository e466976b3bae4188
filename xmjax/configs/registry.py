"""The one registry of experiments: `config.experiment` -> its schema, its
field rules and the module of its task.

Each experiment declares itself once, in a JAX-free module next to its task:
`xmjax/train/experiments/<name>_schema.py` defines

    EXPERIMENT = Experiment(name=..., schema=..., rules=..., task="<module defining TASK>")

and is found by that file name; nothing central is edited to add one. An
experiment outside the package is named in `config.experiment` by the
dotted path of any importable module that defines `EXPERIMENT` (its name
must be that path). Loading a config or listing experiments imports no JAX:
the task module is imported only when a run asks for it
(`xmjax.train.runner.get_task`).
"""

from __future__ import annotations

import dataclasses
import difflib
import functools
import importlib
import os
from typing import Any, Callable, Mapping

import ml_collections

__all__ = ["Experiment", "experiment", "names"]

_SUFFIX = "_schema"
_PACKAGE = "xmjax.train.experiments"


@dataclasses.dataclass(frozen=True)
class Experiment:
  """name: the value of `config.experiment`.
  schema: () -> every field a config of it may set, with its default (the
    registry locks it: a misspelt field then fails with a suggestion).
  rules: field -> `xmjax.configs.ranges.Rule`, checked before any data is read.
  task: the importable module that defines `TASK` (an `xmjax.train.runner.Task`).
  """
  name: str
  schema: Callable[[], ml_collections.ConfigDict]
  rules: Mapping[str, Any]
  task: str

  def locked_schema(self) -> ml_collections.ConfigDict:
    config = self.schema()
    if config.experiment != self.name:
      raise ValueError(f"{self.task}: the schema of experiment {self.name!r} sets "
                       f"experiment={config.experiment!r}")
    config.lock()
    return config


@functools.lru_cache(maxsize=None)
def _shipped() -> dict[str, Experiment]:
  folder = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))),
                        "train", "experiments")
  found = {}
  for file in sorted(os.listdir(folder)):
    if file.endswith(f"{_SUFFIX}.py"):
      declared = importlib.import_module(f"{_PACKAGE}.{file[:-3]}").EXPERIMENT
      if f"{declared.name}{_SUFFIX}.py" != file:
        raise ValueError(f"{folder}/{file} declares experiment {declared.name!r}; "
                         f"its file must be {declared.name}{_SUFFIX}.py")
      found[declared.name] = declared
  return found


def names() -> tuple[str, ...]:
  """The shipped experiments' names."""
  return tuple(_shipped())


def experiment(name: str) -> Experiment:
  """The experiment `config.experiment` names: a shipped one, or the
  `EXPERIMENT` of the module of that dotted path."""
  from xmjax.errors import InputError
  shipped = _shipped()
  if name in shipped:
    return shipped[name]
  try:
    module = importlib.import_module(name) if name and "/" not in name else None
  except ImportError as e:
    if e.name is None or not name.startswith(e.name):
      raise                 # the module exists and one of its own imports failed
    module = None
  declared = getattr(module, "EXPERIMENT", None)
  if not isinstance(declared, Experiment):
    close = difflib.get_close_matches(name, shipped, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise InputError(f"config.experiment: unknown experiment {name!r}{hint}; choose one of "
                     f"{sorted(shipped)}, or the dotted path of a module defining EXPERIMENT")
  if declared.name != name:
    raise InputError(f"config.experiment: module {name} declares experiment {declared.name!r}; "
                     "an experiment outside xmjax is named by its module's path")
  return declared
