"""Pre-extracted features with k-fold cross-validation folds (the ESC layout
of RR-Net's paper IV-A): one `.npz` with `features` (n, d) (e.g. EnvNet's
512-d clip representations), `labels` (n,) in 0..C-1, `folds` (n,) in 1..5
and `baseline_probs` (n, C), the baseline's class probabilities that choose
each example's top-K candidate labels. `xmjax.data.synthetic.make_fold_features`
writes the same layout."""

from __future__ import annotations

import dataclasses

import numpy as np

from xmjax.data import validate
from xmjax.data.shipped import open_npz
from xmjax.errors import InputError

__all__ = ["FoldFeatures", "NUM_FOLDS", "load_fold_features"]

NUM_FOLDS = 5


@dataclasses.dataclass(frozen=True)
class FoldFeatures:
  """features (n, d) float32, labels (n,) int32, folds (n,) int32 in
  1..NUM_FOLDS, baseline_probs (n, C) float32."""
  features: np.ndarray
  labels: np.ndarray
  folds: np.ndarray
  baseline_probs: np.ndarray

  @property
  def num_classes(self) -> int:
    return self.baseline_probs.shape[1]

  def fold_sizes(self) -> list[int]:
    return [int((self.folds == f).sum()) for f in range(1, NUM_FOLDS + 1)]

  def baseline_fold_accuracy(self) -> np.ndarray:
    """The baseline's accuracy on each fold, (NUM_FOLDS,)."""
    return np.array([np.mean(self.baseline_probs[self.folds == f].argmax(1)
                             == self.labels[self.folds == f]) for f in range(1, NUM_FOLDS + 1)])


def load_fold_features(path: str) -> FoldFeatures:
  """Reads and checks the `.npz` (see the module docstring); errors name the
  file and the array."""
  arrays = open_npz(path)
  validate.check_keys(path, arrays, ("features", "labels", "folds", "baseline_probs"))
  features, labels = arrays["features"], arrays["labels"]
  folds, probs = arrays["folds"], arrays["baseline_probs"]
  validate.check_rank(f"{path}: 'features'", features, 2)
  validate.check_rank(f"{path}: 'baseline_probs'", probs, 2)
  validate.check_same_length(path, features=features, labels=labels, folds=folds,
                             baseline_probs=probs)
  validate.check_finite(f"{path}: 'features'", features)
  validate.check_finite(f"{path}: 'baseline_probs'", probs)
  validate.check_labels(f"{path}: 'labels'", labels, probs.shape[1])
  if not np.issubdtype(folds.dtype, np.integer) or folds.min() < 1 or folds.max() > NUM_FOLDS:
    bad = folds[(folds < 1) | (folds > NUM_FOLDS) | (folds != np.round(folds))]
    raise InputError(f"{path}: 'folds' must be integers in 1..{NUM_FOLDS}; found "
                     f"{np.unique(bad)[:5].tolist() or folds.dtype}")
  missing = sorted(set(range(1, NUM_FOLDS + 1)) - set(folds.tolist()))
  if missing:
    raise InputError(f"{path}: 'folds' has no rows for fold(s) {missing}")
  return FoldFeatures(features.astype(np.float32), labels.astype(np.int32),
                      folds.astype(np.int32), probs.astype(np.float32))
