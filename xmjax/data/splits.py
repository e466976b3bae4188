"""Seeded, stratified splits and per-split standardisation."""

from __future__ import annotations

import numpy as np

from xmjax.errors import InputError


def stratified_split(labels: np.ndarray, fractions: dict[str, float], seed: int,
                     ) -> dict[str, np.ndarray]:
  """Splits indices so that every class keeps its proportions in every part.

  Args:
    labels: (n,) integer class of each example.
    fractions: part name -> fraction, for all parts but the first; the first
      key in iteration order gets what remains. E.g. {"train": 0, "test": 0.2}.
    seed: the split depends on nothing else.

  Returns:
    part name -> sorted int64 indices; parts are disjoint and cover range(n).
  """
  labels = np.asarray(labels)
  names = list(fractions)
  rest = [fractions[n] for n in names[1:]]
  if any(f <= 0 for f in rest) or sum(rest) >= 1:
    raise InputError(f"split fractions: each must be > 0 and they must sum below 1, got {fractions}")
  rng = np.random.default_rng(seed)
  parts = {n: [] for n in names}
  for c in np.unique(labels):
    idx = rng.permutation(np.nonzero(labels == c)[0])
    start = 0
    for name, frac in zip(names[1:], rest):
      count = int(round(frac * len(idx)))
      parts[name].append(idx[start:start + count])
      start += count
    parts[names[0]].append(idx[start:])
  return {n: np.sort(np.concatenate(p)) for n, p in parts.items()}


def standardize(train: np.ndarray, *others: np.ndarray, eps: float = 1e-6):
  """Zero mean, unit variance per column using statistics of `train` only."""
  mean = train.mean(axis=0)
  std = train.std(axis=0) + eps
  return tuple((x - mean) / std for x in (train,) + others)
