"""Checks that turn malformed input into an `InputError` naming what is wrong.

Every loader runs these before any training starts, so bad data fails fast
and never after checkpoints have been written.
"""

from __future__ import annotations

from typing import Mapping

import numpy as np

from xmjax.errors import InputError


def check_finite(where: str, array: np.ndarray) -> None:
  """Raises if `array` has NaN or Inf, with the count and first bad row."""
  array = np.asarray(array)
  if not np.issubdtype(array.dtype, np.floating):
    return
  bad = ~np.isfinite(array)
  if bad.any():
    rows = np.nonzero(bad.reshape(bad.shape[0], -1).any(axis=1))[0]
    raise InputError(
        f"{where}: {int(bad.sum())} NaN/Inf values in {len(rows)} rows "
        f"(first bad row {int(rows[0])})")


def check_labels(where: str, labels: np.ndarray, num_classes: int) -> None:
  """Raises unless `labels` is a 1-D integer array with values in [0, num_classes)."""
  labels = np.asarray(labels)
  if labels.ndim != 1:
    raise InputError(f"{where}: labels must be 1-D, got shape {labels.shape}")
  if not np.issubdtype(labels.dtype, np.integer):
    if not (np.issubdtype(labels.dtype, np.floating)
            and np.all(np.isfinite(labels)) and np.all(labels == np.round(labels))):
      raise InputError(f"{where}: labels must be integers, got dtype {labels.dtype}")
  if labels.size and (labels.min() < 0 or labels.max() >= num_classes):
    raise InputError(
        f"{where}: labels must lie in [0, {num_classes}), found values in "
        f"[{labels.min()}, {labels.max()}]")


def check_same_length(where: str, **arrays: np.ndarray) -> None:
  """Raises unless all arrays have the same number of rows."""
  lengths = {name: len(a) for name, a in arrays.items()}
  if len(set(lengths.values())) > 1:
    described = ", ".join(f"{k} has {v}" for k, v in lengths.items())
    raise InputError(f"{where}: row counts disagree: {described}")


def check_keys(where: str, mapping: Mapping[str, object], keys) -> None:
  """Raises if any of `keys` is missing, listing what is present."""
  missing = [k for k in keys if k not in mapping]
  if missing:
    raise InputError(
        f"{where}: missing {', '.join(repr(k) for k in missing)}; "
        f"found {sorted(mapping)}")


def check_rank(where: str, array: np.ndarray, ndim: int) -> None:
  if np.ndim(array) != ndim:
    raise InputError(f"{where}: expected a {ndim}-D array, got shape {np.shape(array)}")
