"""Which process of a multi-host run does the writing: one helper for all.

Files every host sees (results, plots, metrics, configs, stage records)
are written by the primary process only; a file operation that others
depend on (moving a corrupt checkpoint aside) is followed by `barrier`.
"""

from __future__ import annotations

__all__ = ["barrier", "is_primary"]


def is_primary() -> bool:
  """True on the process that writes shared files (process 0)."""
  import jax  # here, so that importing this module (from light ones) loads no JAX
  return jax.process_index() == 0


def barrier(name: str) -> None:
  """Waits until every process reaches `name` (a no-op in one process)."""
  import jax
  if jax.process_count() > 1:
    from jax.experimental import multihost_utils
    multihost_utils.sync_global_devices(name)
