"""Config range checks shared by the tasks: each raises InputError naming the field."""

from __future__ import annotations

from typing import Sequence

import ml_collections

from xmjax.errors import InputError
from xmjax.train import optim

__all__ = ["check_optimizer", "check_positive"]


def check_optimizer(field: str, opt: ml_collections.ConfigDict) -> None:
  if opt.name not in optim.OPTIMIZERS:
    raise InputError(f"config.{field}.name: unknown optimizer {opt.name!r}; "
                     f"choose one of {optim.OPTIMIZERS}")
  if opt.schedule not in optim.SCHEDULES:
    raise InputError(f"config.{field}.schedule: unknown schedule {opt.schedule!r}; "
                     f"choose one of {optim.SCHEDULES}")


def check_positive(config: ml_collections.ConfigDict, fields: Sequence[str]) -> None:
  for field in fields:
    section, _, name = field.rpartition(".")
    value = config[section][name] if section else config[name]
    if value < 1:
      raise InputError(f"config.{field}: must be >= 1, got {value}")
