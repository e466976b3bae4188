"""Social rating data for RR-Net's recommendation task (docs/protocols.md, "Ratings").

- FilmTrust, librec layout: `ratings.txt` lines `user item rating` (1-based
  ids, ratings 0.5..4.0 in steps of 0.5), `trust.txt` lines
  `trustor trustee [weight]`.
- Ciao, MATLAB layout: `rating.mat` variable `rating` with columns
  [user, product, category, rating, helpfulness] (ratings 1..5),
  `trustnetwork.mat` variable `trustnetwork` (E, 2). Ids above 99999 are
  dropped with their links, as in the paper.

Public Ciao / Epinions releases carry ratings off the grid (0) and repeated
(user, item) pairs: an off-grid rating stops the load naming file and row
unless `drop_invalid=True` (config.data.drop_invalid), which drops those
rows and logs the counts; a repeated pair keeps its last rating in file
order, logged. Both return a `RatingData`: 0-based contiguous user and item ids (users that
only appear in trust links are nodes too), the ratings and the trust links.
"""

from __future__ import annotations

import dataclasses
import logging
import os

import numpy as np

from xmjax.data.retrieval import mat_variable, read_mat
from xmjax.errors import InputError

log = logging.getLogger("xmjax")

FILMTRUST_GRID = tuple(np.arange(1, 9) * 0.5)   # 0.5, 1.0, ..., 4.0
CIAO_GRID = (1.0, 2.0, 3.0, 4.0, 5.0)
CIAO_MAX_ID = 99999


@dataclasses.dataclass(frozen=True)
class RatingData:
  users: np.ndarray        # (R,) int32, 0-based
  items: np.ndarray        # (R,) int32, 0-based
  ratings: np.ndarray      # (R,) float32, on `grid`
  trust: np.ndarray        # (T, 2) int32 (trustor, trustee), 0-based, no self links
  num_users: int
  num_items: int
  grid: tuple[float, ...]  # the allowed rating values

  @property
  def rating_range(self) -> tuple[float, float]:
    return min(self.grid), max(self.grid)


def _read_columns(path: str, min_columns: int, max_columns: int, what: str) -> np.ndarray:
  """Whitespace-separated numeric rows; errors name the file and line."""
  if not os.path.exists(path):
    raise InputError(f"{path}: file not found")
  rows = []
  with open(path) as f:
    for number, line in enumerate(f, 1):
      fields = line.split()
      if not fields:
        continue
      if not min_columns <= len(fields) <= max_columns:
        raise InputError(f"{path}: line {number}: expected {what}, got {len(fields)} "
                         f"field(s): {line.strip()!r}")
      try:
        rows.append([float(x) for x in fields[:min_columns]])
      except ValueError:
        raise InputError(f"{path}: line {number}: not numeric: {line.strip()!r}") from None
  if not rows:
    raise InputError(f"{path}: no rows")
  return np.array(rows, np.float64)


def _integer_ids(path: str, column: np.ndarray, name: str) -> np.ndarray:
  bad = np.flatnonzero((column != np.round(column)) | (column < 1))
  if bad.size:
    raise InputError(f"{path}: {name} ids must be positive integers; row {bad[0] + 1} has "
                     f"{column[bad[0]]:g}")
  return column.astype(np.int64)


def _on_grid(path: str, ratings: np.ndarray, grid, drop_invalid: bool) -> np.ndarray:
  """(R,) bool: the rows whose rating is on `grid`. An off-grid rating is an
  error naming file and row, unless `drop_invalid` (then its row is dropped,
  logged)."""
  on = np.isclose(ratings[:, None], np.asarray(grid)[None]).any(1)
  if not on.all():
    row = np.flatnonzero(~on)[0]
    if not drop_invalid:
      raise InputError(f"{path}: rating {ratings[row]:g} at row {row + 1} is off the grid "
                       f"{[float(g) for g in grid]} ({(~on).sum()} such rows); "
                       f"config.data.drop_invalid=True drops them")
    values, counts = np.unique(ratings[~on], return_counts=True)
    log.warning("%s: dropped %d rows with ratings off the grid %s (%s)", path, (~on).sum(),
                [float(g) for g in grid],
                ", ".join(f"{v:g}: {c}" for v, c in zip(values[:5], counts[:5])))
  return on


def _assemble(path, users, items, ratings, trust, grid) -> RatingData:
  """Remaps raw ids to 0..n-1, drops self links and duplicate ratings (last kept)."""
  user_ids = np.unique(np.concatenate([users, trust.reshape(-1)]))
  item_ids = np.unique(items)
  u = np.searchsorted(user_ids, users).astype(np.int32)
  i = np.searchsorted(item_ids, items).astype(np.int32)
  t = np.searchsorted(user_ids, trust).astype(np.int32).reshape(-1, 2)
  t = np.unique(t[t[:, 0] != t[:, 1]], axis=0)
  pair = u.astype(np.int64) * len(item_ids) + i
  _, last = np.unique(pair[::-1], return_index=True)
  keep = np.sort(len(pair) - 1 - last)
  if len(keep) < len(pair):
    log.warning("%s: %d duplicate (user, item) ratings; the last of each is kept",
                path, len(pair) - len(keep))
  return RatingData(users=u[keep], items=i[keep], ratings=ratings[keep].astype(np.float32),
                    trust=t, num_users=len(user_ids), num_items=len(item_ids),
                    grid=tuple(float(g) for g in grid))


def load_librec(directory: str, grid=FILMTRUST_GRID, drop_invalid: bool = False) -> RatingData:
  """FilmTrust in the librec layout: `ratings.txt` and `trust.txt` under
  `directory`; `drop_invalid` as in load_ciao."""
  ratings_path = os.path.join(directory, "ratings.txt")
  trust_path = os.path.join(directory, "trust.txt")
  rows = _read_columns(ratings_path, 3, 3, "3 columns 'user item rating'")
  users = _integer_ids(ratings_path, rows[:, 0], "user")
  items = _integer_ids(ratings_path, rows[:, 1], "item")
  on = _on_grid(ratings_path, rows[:, 2], grid, drop_invalid)
  links = _read_columns(trust_path, 2, 3, "'trustor trustee [weight]'")
  trust = np.stack([_integer_ids(trust_path, links[:, 0], "trustor"),
                    _integer_ids(trust_path, links[:, 1], "trustee")], 1)
  return _assemble(ratings_path, users[on], items[on], rows[on, 2], trust, grid)


def load_ciao(directory: str, max_id: int = CIAO_MAX_ID, drop_invalid: bool = False
              ) -> RatingData:
  """Ciao (and Epinions, the same layout): `rating.mat` (`rating`: user,
  product, category, rating, helpfulness) and `trustnetwork.mat`
  (`trustnetwork`: trustor, trustee) under `directory`. Public releases
  hold ratings of 0 and repeated pairs: an off-grid rating is an error
  unless `drop_invalid`, which drops those rows (counts logged); a repeated
  (user, item) pair always keeps its last rating in file order (logged)."""
  rating_path = os.path.join(directory, "rating.mat")
  trust_path = os.path.join(directory, "trustnetwork.mat")
  rating = np.asarray(mat_variable(rating_path, read_mat(rating_path), "rating"), np.float64)
  if rating.ndim == 2 and rating.shape[0] == 5 and rating.shape[1] != 5:
    rating = rating.T  # MATLAB v7.3 files are column-major
  if rating.ndim != 2 or rating.shape[1] < 4:
    raise InputError(f"{rating_path}: 'rating' must be (n, 5) [user, product, category, "
                     f"rating, helpfulness], got shape {rating.shape}")
  trust = np.asarray(mat_variable(trust_path, read_mat(trust_path), "trustnetwork"), np.float64)
  if trust.ndim == 2 and trust.shape[0] == 2 and trust.shape[1] != 2:
    trust = trust.T
  if trust.ndim != 2 or trust.shape[1] != 2:
    raise InputError(f"{trust_path}: 'trustnetwork' must be (E, 2), got shape {trust.shape}")
  users = _integer_ids(rating_path, rating[:, 0], "user")
  items = _integer_ids(rating_path, rating[:, 1], "product")
  on = _on_grid(rating_path, rating[:, 3], CIAO_GRID, drop_invalid)
  trust = np.stack([_integer_ids(trust_path, trust[:, 0], "trustor"),
                    _integer_ids(trust_path, trust[:, 1], "trustee")], 1)
  keep = (users <= max_id) & (items <= max_id) & on
  trust = trust[(trust <= max_id).all(1)]
  if not keep.all():
    log.info("%s: %d ratings kept of %d (off-grid rows dropped, ids above %d dropped as in the paper)", rating_path,
             keep.sum(), len(keep), max_id)
  return _assemble(rating_path, users[keep], items[keep], rating[keep, 3], trust, CIAO_GRID)


# ----------------------------------------------------------------------------
# A config's rating data (its `data` section: name "filmtrust", "ciao" or
# "synthetic"), and its seeded splits.

RATING_FILES = {"filmtrust": ("ratings.txt", "trust.txt"),
                "ciao": ("rating.mat", "trustnetwork.mat")}
RATING_SOURCES = {
    "filmtrust": "FilmTrust (Guo, Zhang and Yorke-Smith, IJCAI 2013) is distributed with "
                 "librec in this layout (its datasets page; `filmtrust/` there)",
    "ciao": "Ciao (Tang et al., WSDM 2012) is distributed as these MATLAB files on "
            "Jiliang Tang's trust data page",
}


def rating_files(d) -> list[str]:
  """The files load_rating_data reads for data section `d` (none for generated data)."""
  return [os.path.join(d.dir, n) for n in RATING_FILES.get(d.name, ())]


def load_rating_data(d) -> RatingData:
  """The ratings a data section names: librec files (FilmTrust), Ciao
  `.mat` files, or a generated social network (`d.synthetic`)."""
  from xmjax.data.synthetic import RATING_GRID, make_social_ratings
  if d.name == "filmtrust":
    return load_librec(d.dir, drop_invalid=d.drop_invalid)
  if d.name == "ciao":
    return load_ciao(d.dir, drop_invalid=d.drop_invalid)
  s = d.synthetic
  arrays = make_social_ratings(s.num_users, s.num_items, s.rank, s.ratings_per_user,
                               s.trust_per_user, s.noise, s.seed)
  r, t = arrays["ratings"], arrays["trust"]
  return RatingData(
      users=r[:, 0].astype(np.int32), items=r[:, 1].astype(np.int32),
      ratings=r[:, 2].astype(np.float32), trust=t.astype(np.int32), num_users=s.num_users,
      num_items=s.num_items, grid=tuple(float(g) for g in RATING_GRID))


def random_splits(num_ratings: int, test_fraction: float, num_splits: int,
                  seed: int) -> list[np.ndarray]:
  """Per split, a boolean (R,) test mask: a seeded random test_fraction of the ratings."""
  masks = []
  for split in range(num_splits):
    order = np.random.default_rng([seed, split]).permutation(num_ratings)
    mask = np.zeros(num_ratings, bool)
    mask[order[:max(1, int(round(test_fraction * num_ratings)))]] = True
    masks.append(mask)
  return masks
