"""Seeded per-epoch batches: which rows a training step sees, as a pure
function of (stream, step), so a resumed run sees exactly the batches an
uninterrupted one would."""

from __future__ import annotations

import dataclasses
from typing import Sequence

import numpy as np

__all__ = ["EpochBatches", "epoch_batch_rows", "steps_per_epoch"]


def steps_per_epoch(num_rows: int, batch_size: int) -> int:
  """Full batches per epoch (an epoch's last partial batch is dropped)."""
  return num_rows // batch_size


def _num_rows(rows: int | np.ndarray) -> int:
  """How many rows `rows` names: an int n (rows 0..n-1) or an array of row ids."""
  return int(rows) if np.ndim(rows) == 0 else len(rows)


def epoch_batch_rows(stream: Sequence[int], rows: int | np.ndarray, batch_size: int,
                     step: int) -> np.ndarray:
  """The rows of training step `step`: each epoch is a fresh permutation of
  `rows` (an int n for 0..n-1, or an array of row ids) drawn from
  `np.random.default_rng([*stream, epoch])` alone, cut into full batches.

  `stream` names the sequence: (seed, a stream of xmjax.random_streams),
  e.g. (seed, DRSL_IMAGE_BATCHES) for one modality and (seed,
  DRSL_TEXT_BATCHES) for the other, so two orders never coincide.
  """
  epoch, offset = divmod(step, steps_per_epoch(_num_rows(rows), batch_size))
  order = np.random.default_rng([*stream, epoch]).permutation(rows)
  return order[offset * batch_size:(offset + 1) * batch_size]


@dataclasses.dataclass(frozen=True)
class EpochBatches:
  """A minibatch stage's schedule: `num_epochs` seeded passes over `rows`
  in full batches of `batch_size` (see `epoch_batch_rows`). Called with a
  step, it gives that step's batch, `(row indices,)`, as
  `runner.TrainingStage.batches` takes it; `num_steps` is the stage's length.
  """
  stream: Sequence[int]
  rows: int | np.ndarray
  batch_size: int
  num_epochs: int

  @property
  def num_steps(self) -> int:
    return self.num_epochs * steps_per_epoch(_num_rows(self.rows), self.batch_size)

  def __call__(self, step: int) -> tuple[np.ndarray]:
    return (epoch_batch_rows(self.stream, self.rows, self.batch_size, step),)
