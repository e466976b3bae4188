"""Orbax checkpoints of a train state: periodic and final saves, resume,
and fallback from a corrupt latest checkpoint."""

from __future__ import annotations

import logging
import os
import shutil
import time
from typing import Any, Optional

import orbax.checkpoint as ocp

from xmjax.process import barrier, is_primary

log = logging.getLogger("xmjax")


class Checkpointer:
  """A thin owner of an `ocp.CheckpointManager` for one training stage.

  Saves are atomic: orbax writes into a temporary directory and renames it
  only once complete, so a run killed mid-save leaves the previous checkpoint
  as the latest (the leftover temporary directory is cleaned up on the next
  start). The older of the two kept checkpoints is deleted only after the
  newer one has been committed. A latest checkpoint that cannot be read
  (truncated, corrupt) is reported, moved aside to `<dir>/../corrupt/`, and
  the previous one is used instead.
  """

  def __init__(self, directory: str, max_to_keep: int = 2):
    self.directory = os.path.abspath(directory)
    self._max_to_keep = max_to_keep
    self._manager = self._open()

  def _open(self):
    return ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=self._max_to_keep, create=True,
                                             cleanup_tmp_directories=True))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def all_steps(self) -> list[int]:
    return sorted(self._manager.all_steps())

  def restore(self, template: Any, step: int) -> Any:
    return self._manager.restore(step, args=ocp.args.StandardRestore(template))

  def restore_latest(self, template: Any) -> Any:
    """The newest readable saved state shaped like `template`, or `template` if none."""
    for step in sorted(self._manager.all_steps(), reverse=True):
      try:
        return self.restore(template, step)
      except Exception as e:  # Orbax/tensorstore raise many types for bad files.
        self._quarantine(step, e)
    return template

  def _quarantine(self, step: int, error: Exception) -> None:
    source = os.path.join(self.directory, str(step))
    target = os.path.join(os.path.dirname(self.directory), "corrupt",
                          f"{os.path.basename(self.directory)}-{step}-{int(time.time())}")
    log.warning("checkpoint %s is unreadable (%s: %s); moved to %s, falling back to the "
                "previous one", source, type(error).__name__, str(error)[:200], target)
    self._manager.close()
    # Every process reads the same directory and finds it unreadable; one
    # moves it, the others wait for that before reopening the manager.
    if is_primary():
      os.makedirs(os.path.dirname(target), exist_ok=True)
      shutil.move(source, target)
    barrier(f"xmjax_quarantine_{os.path.basename(self.directory)}_{step}")
    self._manager = self._open()

  def save(self, step: int, state: Any) -> None:
    self._manager.save(step, args=ocp.args.StandardSave(state))

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()


def restore_for_eval(checkpointer: Checkpointer, template: Any, step: Optional[int],
                     workdir: str) -> Any:
  """The checkpoint at `step` (or the latest readable one) for evaluation."""
  from xmjax.errors import InputError
  try:
    steps = checkpointer.all_steps()
    if not steps:
      raise InputError(f"{workdir}: no checkpoint in {checkpointer.directory}")
    if step is None:
      return checkpointer.restore_latest(template)
    if step not in steps:
      raise InputError(f"--step: no checkpoint at step {step} in {checkpointer.directory}; "
                       f"saved steps: {steps}")
    return checkpointer.restore(template, step)
  finally:
    checkpointer.close()
