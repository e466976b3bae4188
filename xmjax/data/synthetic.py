"""Seeded synthetic data in the real layouts, for tests and embedded demos.

- `make_fold_features`: pre-extracted clip features with folds and a noisy
  baseline's class probabilities (the ESC `.npz` layout).
- `make_social_ratings`: a social rating network (the FilmTrust layout):
  latent user and item factors, trust links to similar users, ratings on the
  0.5..4.0 grid.
"""

from __future__ import annotations

import numpy as np


def make_fold_features(num_classes: int = 10, per_class: int = 40, dim: int = 512,
                       num_folds: int = 5, class_separation: float = 2.0,
                       baseline_margin: float = 1.5, seed: int = 0) -> dict[str, np.ndarray]:
  """ESC-style arrays: `features` (n, dim) float32, `labels` (n,) int64,
  `folds` (n,) 1..num_folds (balanced per class) and `baseline_probs` (n, C).

  Features are class means (norm 8 x class_separation) plus unit Gaussian
  noise per dimension. The baseline is a weaker model whose class scores are
  `baseline_margin` on the true class plus unit noise (48% accuracy at 1.5
  with 10 classes, seed 0), so its mistakes are ones the features can correct.
  """
  rng = np.random.default_rng(seed)
  means = class_separation * 8 * rng.standard_normal((num_classes, dim)) / np.sqrt(dim)
  labels = np.repeat(np.arange(num_classes), per_class)
  features = means[labels] + rng.standard_normal((len(labels), dim))
  folds = np.concatenate([rng.permutation(np.arange(per_class) % num_folds) + 1
                          for _ in range(num_classes)])
  scores = baseline_margin * np.eye(num_classes)[labels]
  scores += rng.standard_normal(scores.shape)
  probs = np.exp(scores - scores.max(1, keepdims=True))
  probs /= probs.sum(1, keepdims=True)
  order = rng.permutation(len(labels))
  return {"features": features[order].astype(np.float32), "labels": labels[order],
          "folds": folds[order].astype(np.int64), "baseline_probs": probs[order].astype(np.float32)}


RATING_GRID = np.arange(1, 9) * 0.5   # FilmTrust: 0.5, 1.0, ..., 4.0


def make_social_ratings(num_users: int = 200, num_items: int = 150, rank: int = 4,
                        ratings_per_user: int = 20, trust_per_user: int = 3,
                        noise: float = 0.3, seed: int = 0) -> dict[str, np.ndarray]:
  """A FilmTrust-like network, 0-based ids.

  Users fall into `rank` taste groups; a user trusts users of its own group,
  so the trust graph carries taste. Rating = a user's group taste for the
  item's factors, plus a per-item bias and noise, snapped to the 0.5..4.0
  grid. Returns `ratings` (R, 3) float64 rows (user, item, rating) and
  `trust` (T, 2) int64 rows (trustor, trustee).
  """
  rng = np.random.default_rng(seed)
  groups = rng.integers(0, rank, num_users)
  group_taste = rng.standard_normal((rank, rank))
  user_factors = group_taste[groups] + 0.3 * rng.standard_normal((num_users, rank))
  item_factors = rng.standard_normal((num_items, rank))
  item_bias = 0.4 * rng.standard_normal(num_items)
  trust = []
  for user in range(num_users):
    peers = np.flatnonzero((groups == groups[user]) & (np.arange(num_users) != user))
    for peer in rng.choice(peers, size=min(trust_per_user, len(peers)), replace=False):
      trust.append((user, peer))
  rows = []
  for user in range(num_users):
    items = rng.choice(num_items, size=ratings_per_user, replace=False)
    affinity = item_factors[items] @ user_factors[user] / np.sqrt(rank)
    raw = 2.25 + 0.8 * affinity + item_bias[items] + noise * rng.standard_normal(len(items))
    rating = np.clip(np.round(raw * 2) / 2, RATING_GRID[0], RATING_GRID[-1])
    rows.extend(zip([user] * len(items), items, rating))
  return {"ratings": np.array(rows, np.float64), "trust": np.array(trust, np.int64)}


def write_librec(directory: str, ratings: np.ndarray, trust: np.ndarray) -> None:
  """Writes `ratings.txt` (user item rating) and `trust.txt` (trustor trustee 1)
  with 1-based ids, the librec FilmTrust layout."""
  import os
  os.makedirs(directory, exist_ok=True)
  with open(os.path.join(directory, "ratings.txt"), "w") as f:
    for user, item, rating in ratings:
      f.write(f"{int(user) + 1} {int(item) + 1} {rating:g}\n")
  with open(os.path.join(directory, "trust.txt"), "w") as f:
    for trustor, trustee in trust:
      f.write(f"{int(trustor) + 1} {int(trustee) + 1} 1\n")
