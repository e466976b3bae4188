"""Orbax checkpoints of a train state: periodic and final saves, resume."""

from __future__ import annotations

import os
from typing import Any, Optional

import orbax.checkpoint as ocp


class Checkpointer:
  """A thin owner of an `ocp.CheckpointManager` for one training stage.

  Saves are atomic (orbax writes to a temporary directory and renames), so a
  run killed mid-save leaves the previous checkpoint as the latest.
  """

  def __init__(self, directory: str, max_to_keep: int = 2):
    self.directory = os.path.abspath(directory)
    self._manager = ocp.CheckpointManager(
        self.directory,
        options=ocp.CheckpointManagerOptions(max_to_keep=max_to_keep, create=True))

  def latest_step(self) -> Optional[int]:
    return self._manager.latest_step()

  def restore_latest(self, template: Any) -> Any:
    """The latest saved state shaped like `template`, or `template` if none."""
    step = self._manager.latest_step()
    if step is None:
      return template
    return self._manager.restore(step, args=ocp.args.StandardRestore(template))

  def save(self, step: int, state: Any) -> None:
    self._manager.save(step, args=ocp.args.StandardSave(state))

  def close(self) -> None:
    self._manager.wait_until_finished()
    self._manager.close()
