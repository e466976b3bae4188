"""Evaluation metrics: retrieval mAP@ALL / mAP@k, P-R and precision@scope curves.

Conventions (docs/protocols.md):
  * `similarity` is (n_query, n_retrieval); higher means more relevant.
  * Rankings sort by decreasing similarity with a *stable* sort: among equal
    scores the retrieval item with the lower index ranks first. The SDML
    authors' evaluation (utils_PyTorch.fx_calc_map_label) sorts cosine
    distances with numpy's default, unstable, argsort, so tied scores may
    rank in another order there; on tie-free scores the two agree exactly.
  * AP of a query = mean of precision@r over the ranks r of its relevant items
    (within the top k when k is given; the denominator is the number of
    relevant items in that ranking).
  * Single-label: relevant = same label; a query with no relevant item scores
    0 and still counts. Multi-label (`multilabel_map`): relevant = at least
    one shared label; queries with no relevant item in the ranking are
    skipped, as the reference code does.
  * Non-finite scores (NaN, +-inf: what a diverged model gives) are refused
    by every ranking metric with an error naming the metric and how many
    entries are non-finite (`nonfinite="raise"`, the default). With
    `nonfinite="worst"` a non-finite score loses every comparison instead:
    it ranks below every finite score and, among non-finite scores, the
    relevant (true) items rank last. A diverged model then scores at or
    below chance, never above it (a plain argsort ranks NaN entries by
    index, which gives an all-NaN matrix R@1 = 100).

Everything is vectorised over blocks of queries (no Python loop per query);
block size bounds memory, so 30k x 30k similarity matrices are fine.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from xmjax.errors import InputError
from xmjax.process import is_primary


NONFINITE_MODES = ("raise", "worst")


def _check(similarity, n_query, n_retrieval):
  if similarity.ndim != 2 or similarity.shape != (n_query, n_retrieval):
    raise InputError(f"similarity: expected shape ({n_query}, {n_retrieval}) for "
                     f"{n_query} queries and {n_retrieval} retrieval items, got {similarity.shape}")


def check_finite(similarity, metric: str, nonfinite: str = "raise") -> np.ndarray | None:
  """The mask of non-finite entries of `similarity` (None when all are finite).

  Raises InputError naming `metric` and the count when there are non-finite
  entries and `nonfinite` is "raise"; "worst" returns the mask for the
  caller to rank those entries last.
  """
  if nonfinite not in NONFINITE_MODES:
    raise InputError(f"{metric}: nonfinite must be one of {NONFINITE_MODES}, got {nonfinite!r}")
  bad = ~np.isfinite(similarity)
  count = int(bad.sum())
  if count == 0:
    return None
  if nonfinite == "raise":
    raise InputError(
        f"{metric}: similarity has {count} non-finite entries (NaN or inf) of {bad.size} "
        f"(in {int(bad.any(axis=1).sum())} of {bad.shape[0]} rows); a diverged model? Pass "
        f"nonfinite='worst' to rank them below every finite score")
  return bad


def _blocks(n, block_size):
  for start in range(0, n, block_size):
    yield slice(start, min(start + block_size, n))


def _rank(similarity_block: np.ndarray, k: int | None, relevant: np.ndarray | None = None,
          bad: np.ndarray | None = None) -> np.ndarray:
  """Indices of each row by decreasing score, ties by lower index.

  With `bad` (the non-finite mask), non-finite entries go after every finite
  one, the `relevant` ones among them last (the worst case for the model).
  """
  if bad is None or not bad.any():
    order = np.argsort(-similarity_block, axis=1, kind="stable")
  else:
    score = np.where(bad, 0.0, -similarity_block)
    # np.lexsort: the last key is the primary one; the sort is stable.
    order = np.lexsort((bad & relevant, score, bad), axis=1)
  return order if k is None else order[:, :k]


def _average_precision(relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """relevant (B, K) bool in rank order -> (AP (B,), number relevant (B,))."""
  hits = np.cumsum(relevant, axis=1)
  precision = hits / np.arange(1, relevant.shape[1] + 1)
  count = relevant.sum(axis=1)
  ap = np.where(count > 0, (precision * relevant).sum(axis=1) / np.maximum(count, 1), 0.0)
  return ap, count


def map_at_all(similarity, query_labels, retrieval_labels, *, k: int | None = None,
               block_size: int = 1024, nonfinite: str = "raise") -> float:
  """Single-label mean average precision over all queries (mAP@ALL, or mAP@k).

  Args:
    similarity: (n_query, n_retrieval).
    query_labels: (n_query,) ints. retrieval_labels: (n_retrieval,) ints.
    k: rank cut-off (e.g. 50 for mAP@50); None = the whole retrieval set.
    nonfinite: "raise" (default) or "worst" (module docstring).
  """
  similarity = np.asarray(similarity)
  query_labels, retrieval_labels = np.asarray(query_labels), np.asarray(retrieval_labels)
  _check(similarity, len(query_labels), len(retrieval_labels))
  bad = check_finite(similarity, "map_at_all", nonfinite)
  total = 0.0
  for rows in _blocks(len(query_labels), block_size):
    relevant = retrieval_labels[None, :] == query_labels[rows, None]
    order = _rank(similarity[rows], k, relevant, None if bad is None else bad[rows])
    relevant = np.take_along_axis(relevant, order, axis=1)
    total += _average_precision(relevant)[0].sum()
  return float(total / max(len(query_labels), 1))


def map_at_all_on_device(similarity, query_labels, retrieval_labels):
  """`map_at_all` (k = None) in jax.numpy, for use inside a jitted step
  (model selection on a validation split): the same stable ranking and
  tie order, the whole (n_query, n_retrieval) block at once.

  A traced value cannot raise, so non-finite scores always count as the
  worst (`nonfinite="worst"`): a diverged model's validation mAP drops to
  at most chance and it is not selected."""
  import jax.numpy as jnp
  relevant = retrieval_labels[None, :] == query_labels[:, None]
  bad = ~jnp.isfinite(similarity)
  score = jnp.where(bad, 0.0, -similarity)
  order = jnp.lexsort((bad & relevant, score, bad), axis=1)
  relevant = jnp.take_along_axis(relevant, order, axis=1).astype(jnp.float32)
  precision = jnp.cumsum(relevant, axis=1) / jnp.arange(1, relevant.shape[1] + 1)
  count = relevant.sum(axis=1)
  ap = jnp.sum(precision * relevant, axis=1) / jnp.maximum(count, 1)
  return jnp.mean(ap)


def multilabel_map(similarity, query_labels, retrieval_labels, *, k: int | None = None,
                   block_size: int = 1024, nonfinite: str = "raise") -> float:
  """Multi-label mAP: labels are (n, c) multi-hot; relevant = a shared label.

  Queries with no relevant item in the ranking are skipped (reference code).
  """
  similarity = np.asarray(similarity)
  query_labels = np.asarray(query_labels, np.float32)
  retrieval_labels = np.asarray(retrieval_labels, np.float32)
  _check(similarity, len(query_labels), len(retrieval_labels))
  bad = check_finite(similarity, "multilabel_map", nonfinite)
  total, counted = 0.0, 0
  for rows in _blocks(len(query_labels), block_size):
    shared = query_labels[rows] @ retrieval_labels.T > 0
    order = _rank(similarity[rows], k, shared, None if bad is None else bad[rows])
    relevant = np.take_along_axis(shared, order, axis=1)
    ap, count = _average_precision(relevant)
    total += ap[count > 0].sum()
    counted += int((count > 0).sum())
  return float(total / max(counted, 1))


def retrieval_curves(similarity, query_labels, retrieval_labels,
                     scopes: Sequence[int] | None = None,
                     block_size: int = 1024, nonfinite: str = "raise") -> dict[str, np.ndarray]:
  """Mean precision@K and recall@K over queries for each scope K.

  Precision@scope is the papers' precision-scope curve; (recall@K,
  precision@K) over K traces their precision-recall curve.
  """
  similarity = np.asarray(similarity)
  query_labels, retrieval_labels = np.asarray(query_labels), np.asarray(retrieval_labels)
  _check(similarity, len(query_labels), len(retrieval_labels))
  bad = check_finite(similarity, "retrieval_curves", nonfinite)
  n_r = len(retrieval_labels)
  if scopes is None:
    scopes = np.unique(np.linspace(1, n_r, num=min(n_r, 50)).astype(int))
  scopes = np.asarray(scopes)
  precision = np.zeros(len(scopes))
  recall = np.zeros(len(scopes))
  for rows in _blocks(len(query_labels), block_size):
    relevant = retrieval_labels[None, :] == query_labels[rows, None]
    order = _rank(similarity[rows], None, relevant, None if bad is None else bad[rows])
    relevant = np.take_along_axis(relevant, order, axis=1)
    hits = np.cumsum(relevant, axis=1)[:, scopes - 1]
    total = np.maximum(relevant.sum(axis=1, keepdims=True), 1)
    precision += (hits / scopes).sum(axis=0)
    recall += (hits / total).sum(axis=0)
  n = max(len(query_labels), 1)
  return {"scope": scopes, "precision": precision / n, "recall": recall / n}


def _mean_curve(xs, ys, grid):
  """Mean over curves of y interpolated at `grid` (x increasing in each curve)."""
  return np.mean([np.interp(grid, x, y) for x, y in zip(xs, ys)], axis=0)


def plot_retrieval_curves(curves: dict[tuple[str, str], dict[str, np.ndarray]], path: str,
                          title: str = "", maps: dict[tuple[str, str], float] | None = None) -> None:
  """Writes one PNG a person reads at a glance (process 0 only):

  - the mAP matrix (query modality x target modality, the value in each
    cell) when `maps` is given;
  - P-R and precision@scope curves averaged per query modality over its
    targets (one line per query modality, not one per ordered pair);
  legends sit below the axes, clear of the data.

  curves: {(query, target): retrieval_curves(...)}.
  """
  if not is_primary():
    return
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  queries = list(dict.fromkeys(q for q, _ in curves))
  targets = list(dict.fromkeys(t for _, t in curves))
  modalities = list(dict.fromkeys(queries + targets))
  panels = 3 if maps else 2
  fig, axes = plt.subplots(1, panels, figsize=(4.6 * panels, 4.6))
  if maps:
    grid = np.full((len(modalities), len(modalities)), np.nan)
    for (q, t), value in maps.items():
      grid[modalities.index(q), modalities.index(t)] = value
    ax = axes[0]
    image = ax.imshow(grid, vmin=0.0, vmax=1.0, cmap="viridis")
    for i in range(len(modalities)):
      for j in range(len(modalities)):
        if np.isfinite(grid[i, j]):
          ax.text(j, i, f"{grid[i, j]:.3f}", ha="center", va="center", fontsize=8,
                  color="black" if grid[i, j] > 0.6 else "white")
    ax.set_xticks(range(len(modalities)), modalities, rotation=45, ha="right")
    ax.set_yticks(range(len(modalities)), modalities)
    ax.set(xlabel="target modality", ylabel="query modality", title="mAP@ALL")
    fig.colorbar(image, ax=ax, fraction=0.046, pad=0.04)
  pr, ps = axes[-2], axes[-1]
  recall_grid = np.linspace(0.0, 1.0, 101)
  for q in queries:
    mine = [c for (qq, _), c in curves.items() if qq == q]
    label = f"{q} -> others" if len(mine) > 1 else next(f"{qq} -> {t}" for qq, t in curves if qq == q)
    pr.plot(recall_grid, _mean_curve([c["recall"] for c in mine], [c["precision"] for c in mine],
                                     recall_grid), label=label)
    scope_grid = np.linspace(1, min(c["scope"][-1] for c in mine), 100)
    ps.plot(scope_grid, _mean_curve([c["scope"] for c in mine], [c["precision"] for c in mine],
                                    scope_grid), label=label)
  pr.set(xlabel="recall", ylabel="precision", title="precision-recall (mean per query)",
         xlim=(0, 1), ylim=(0, 1.02))
  ps.set(xlabel="scope K", ylabel="precision@K", title="precision@scope (mean per query)",
         ylim=(0, 1.02))
  for ax in (pr, ps):
    ax.grid(alpha=0.3)
  handles, labels = pr.get_legend_handles_labels()
  fig.legend(handles, labels, loc="lower center", ncol=min(len(labels), 6), fontsize=8,
             frameon=False)
  if title:
    fig.suptitle(title)
  fig.tight_layout(rect=(0, 0.08 + 0.03 * ((len(labels) - 1) // 6), 1, 1))
  fig.savefig(path, dpi=100)
  plt.close(fig)


def accuracy(predictions, labels) -> float:
  predictions, labels = np.asarray(predictions), np.asarray(labels)
  return float(np.mean(predictions == labels))


def cosine_similarity(a, b) -> np.ndarray:
  """(n_a, d), (n_b, d) -> (n_a, n_b) cosine similarities."""
  a = np.asarray(a, np.float32)
  b = np.asarray(b, np.float32)
  a = a / np.maximum(np.linalg.norm(a, axis=1, keepdims=True), 1e-12)
  b = b / np.maximum(np.linalg.norm(b, axis=1, keepdims=True), 1e-12)
  return a @ b.T


# ----------------------------------------------------------------------------
# Image-text retrieval with several captions per image (SCAN protocol).


def _stable_ranks(scores: np.ndarray, targets: np.ndarray) -> np.ndarray:
  """0-based rank of column targets[r, t] in row r of `scores` sorted by
  decreasing score, ties broken by lower index first. scores (n, m),
  targets (n, t) -> (n, t).

  Non-finite entries of `scores` lose every comparison: a non-finite target
  ranks last (m - 1) and a non-finite competitor never beats a target.
  """
  bad = ~np.isfinite(scores)
  scores = np.where(bad, -np.inf, scores)
  value = np.take_along_axis(scores, targets, axis=1)[:, :, None]        # (n, t, 1)
  index = np.arange(scores.shape[1])[None, None, :]
  row = scores[:, None, :]
  ranks = ((row > value) | ((row == value) & (index < targets[:, :, None]))).sum(-1)
  return np.where(np.take_along_axis(bad, targets, axis=1), scores.shape[1] - 1, ranks)


def _in_chunks(fn, n: int, chunk: int):
  return np.concatenate([fn(slice(s, min(s + chunk, n))) for s in range(0, n, chunk)])


def _check_captions(sims: np.ndarray, captions_per_image: int) -> None:
  if sims.ndim != 2 or sims.shape[1] != captions_per_image * sims.shape[0]:
    raise InputError(f"similarity: expected (n_images, {captions_per_image} * n_images) for "
                     f"{captions_per_image} captions per image, got {sims.shape}")


def retrieval_ranks(similarity: np.ndarray, captions_per_image: int = 5,
                    chunk: int = 256, *, nonfinite: str = "raise",
                    metric: str = "retrieval_ranks") -> tuple[np.ndarray, np.ndarray]:
  """(i2t ranks (n_images,), t2i ranks (n_captions,)), 0-based.

  similarity: (n_images, captions_per_image * n_images); caption
  c belongs to image c // captions_per_image. An image's i2t rank is the best
  rank among its captions. nonfinite: "raise" or "worst" (module
  docstring); `metric` names the caller in the error.
  """
  sims = np.asarray(similarity, np.float64)
  _check_captions(sims, captions_per_image)
  check_finite(sims, metric, nonfinite)
  n_images, n_captions = sims.shape
  own = np.arange(n_images)[:, None] * captions_per_image + np.arange(captions_per_image)
  i2t = _in_chunks(lambda s: _stable_ranks(sims[s], own[s]).min(1), n_images, chunk)
  image_of = np.arange(n_captions) // captions_per_image
  t2i = _in_chunks(lambda s: _stable_ranks(sims.T[s], image_of[s, None])[:, 0], n_captions,
                   chunk)
  return i2t, t2i


def recall_from_ranks(i2t: np.ndarray, t2i: np.ndarray) -> dict[str, float]:
  """R@1/5/10 in percent, rsum, mR = rsum / 6, medr = floor(median rank) + 1
  and meanr = mean rank + 1 per direction (1-based ranks, as SCAN's
  evaluation.py reports them)."""
  out = {}
  for name, ranks in (("i2t", i2t), ("t2i", t2i)):
    for k in (1, 5, 10):
      out[f"{name}_r{k}"] = float(100.0 * np.mean(ranks < k))
    out[f"{name}_medr"] = float(np.floor(np.median(ranks)) + 1)
    out[f"{name}_meanr"] = float(np.mean(ranks) + 1)
  out["rsum"] = sum(out[f"{n}_r{k}"] for n in ("i2t", "t2i") for k in (1, 5, 10))
  out["mr"] = out["rsum"] / 6
  return out


def recall_at_k(similarity: np.ndarray, captions_per_image: int = 5, *,
                nonfinite: str = "raise") -> dict[str, float]:
  """SCAN-protocol R@K of an (n_images, 5 n_images) similarity matrix (docs/protocols.md)."""
  return recall_from_ranks(*retrieval_ranks(similarity, captions_per_image,
                                            nonfinite=nonfinite, metric="recall_at_k"))


def rerank_i2t(similarity: np.ndarray, k1: int = 15, chunk: int = 256, *,
               nonfinite: str = "raise") -> np.ndarray:
  """Image-to-text re-ranking (RACG paper, III-F; docs/protocols.md).

  For each image, its top-k1 texts are reordered by the rank the image has
  in each text's own ranking of all images (ties keep the original order);
  positions past k1 are unchanged. Returns a score matrix with that i2t
  order (use it for i2t only; t2i is not re-ranked). With
  nonfinite="worst", non-finite scores rank below every finite one in both
  rankings and stay non-finite in the result (so they still rank last).
  """
  sims = np.asarray(similarity, np.float64)
  bad = check_finite(sims, "rerank_i2t", nonfinite)
  if bad is not None:
    sims = np.where(bad, -np.inf, sims)
  n_images, n_captions = sims.shape
  k1 = min(k1, n_captions)
  rows = np.arange(n_images)[:, None]
  # Top-k1 texts per image in rank order (ties by lower index).
  top = np.argsort(-sims, axis=1, kind="stable")[:, :k1]

  def image_rank_in_texts(s):
    # rank of image i among all images in column top[i, j]
    columns = sims[:, top[s]]                                  # (n_images, b, k1)
    value = sims[rows[s], top[s]][None]                        # (1, b, k1)
    index = np.arange(n_images)[:, None, None]
    me = rows[s][None]                                         # (1, b, 1)
    return ((columns > value) | ((columns == value) & (index < me))).sum(0)

  position = _in_chunks(image_rank_in_texts, n_images, max(1, chunk // 8))   # (n, k1)
  order = np.argsort(position, axis=1, kind="stable")
  reordered = np.take_along_axis(top, order, axis=1)
  out = sims.copy()
  ceiling = sims.max(axis=1, keepdims=True)   # non-finite entries are -inf by now
  out[rows, reordered] = np.where(np.isfinite(ceiling), ceiling, 0.0) + 1.0 + (
      k1 - np.arange(k1))[None, :]
  if bad is not None:
    out[bad] = np.nan
  return out


def minimal_pair_wins(similarity: np.ndarray, captions_per_image: int = 5, *,
                      nonfinite: str = "raise") -> tuple[np.ndarray, np.ndarray]:
  """Per image, the fraction of minimal-pair comparisons won (ties half):
  (t2i (n_images,): its captions scoring it above its sibling, i2t
  (n_images,): it scoring each own caption above each of the sibling's).
  Images 2p and 2p+1 are siblings; caption c belongs to image c // cpi.
  With nonfinite="worst", a comparison with a non-finite own score is lost."""
  sims = np.asarray(similarity, np.float64)
  n_images = sims.shape[0]
  if sims.ndim != 2 or n_images % 2 or sims.shape[1] != captions_per_image * n_images:
    raise InputError(f"similarity: expected an even number of images and "
                     f"{captions_per_image} captions per image, got {sims.shape}")
  check_finite(sims, "minimal_pair_wins", nonfinite)
  image = np.arange(n_images)
  sibling = image ^ 1
  own_caps = image[:, None] * captions_per_image + np.arange(captions_per_image)
  # NaN compares false both ways, so a non-finite own score never wins.
  win = lambda a, b: np.where(np.isfinite(a), (a > b) + 0.5 * (a == b), 0.0)
  caption_image = np.repeat(image, captions_per_image)
  columns = np.arange(sims.shape[1])
  t2i = win(sims[caption_image, columns], sims[sibling[caption_image], columns])
  t2i = t2i.reshape(n_images, captions_per_image).mean(1)
  own = sims[image[:, None], own_caps]                       # (n, cpi)
  other = sims[image[:, None], own_caps[sibling]]            # (n, cpi)
  i2t = win(own[:, :, None], other[:, None, :]).mean((1, 2))
  return t2i, i2t


def minimal_pair_accuracy(similarity: np.ndarray, contrast: np.ndarray,
                          names: Sequence[str] = ("colour", "spatial"),
                          captions_per_image: int = 5, *,
                          nonfinite: str = "raise") -> dict[str, float]:
  """Percent of minimal pairs won, per kind of contrast (chance: 50).

  Images 2p and 2p+1 are siblings that differ in one thing (`contrast`,
  (n_images,) indices into `names`, equal within a pair); caption c belongs
  to image c // captions_per_image. t2i: each caption scores its own image
  above the sibling. i2t: each image scores each of its captions above each
  of its sibling's. Ties count half. Keys `minimal_pair_{t2i,i2t}_<name>`
  and `minimal_pair_<name>` (the mean of the two directions).
  """
  check_finite(np.asarray(similarity), "minimal_pair_accuracy", nonfinite)
  t2i, i2t = minimal_pair_wins(similarity, captions_per_image, nonfinite="worst")
  contrast = np.asarray(contrast)
  out = {}
  for index, name in enumerate(names):
    rows = contrast == index
    if rows.any():
      out[f"minimal_pair_t2i_{name}"] = float(100 * t2i[rows].mean())
      out[f"minimal_pair_i2t_{name}"] = float(100 * i2t[rows].mean())
      out[f"minimal_pair_{name}"] = (out[f"minimal_pair_t2i_{name}"]
                                     + out[f"minimal_pair_i2t_{name}"]) / 2
  return out


def reranked_recall_at_k(similarity: np.ndarray, k1: int = 15,
                         captions_per_image: int = 5, *,
                         nonfinite: str = "raise") -> dict[str, float]:
  """R@K with i2t re-ranked (`rerank_i2t`) and t2i as it is: the paper
  re-ranks image-to-text only."""
  similarity = np.asarray(similarity, np.float64)
  _check_captions(similarity, captions_per_image)
  check_finite(similarity, "reranked_recall_at_k", nonfinite)
  i2t, _ = retrieval_ranks(rerank_i2t(similarity, k1, nonfinite="worst"), captions_per_image,
                           nonfinite="worst")
  _, t2i = retrieval_ranks(similarity, captions_per_image, nonfinite="worst")
  return recall_from_ranks(i2t, t2i)


def coco_recall(similarity: np.ndarray, captions_per_image: int = 5,
                fold_images: int = 1000, rerank_k1: int = 0, *,
                nonfinite: str = "raise") -> dict[str, float]:
  """COCO "1K" (mean over folds of 1000 images) and "5K" (all) results,
  keys prefixed `1k_` and `5k_`. With `rerank_k1` > 0, i2t is re-ranked
  (`reranked_recall_at_k`), within each fold for 1K: a fold's texts are
  re-ranked among that fold's images only, as the paper's 1K columns are."""
  similarity = np.asarray(similarity, np.float64)
  _check_captions(similarity, captions_per_image)
  check_finite(similarity, "coco_recall", nonfinite)

  def recall(block):
    if rerank_k1 > 0:
      return reranked_recall_at_k(block, rerank_k1, captions_per_image, nonfinite="worst")
    return recall_at_k(block, captions_per_image, nonfinite="worst")

  n_images = similarity.shape[0]
  folds = []
  for start in range(0, n_images - fold_images + 1, fold_images):
    block = similarity[start:start + fold_images,
                       start * captions_per_image:(start + fold_images) * captions_per_image]
    folds.append(recall(block))
  out = {f"1k_{k}": float(np.mean([f[k] for f in folds])) for k in folds[0]} if folds else {}
  out.update({f"5k_{k}": v for k, v in recall(similarity).items()})
  return out
