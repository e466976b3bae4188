"""Evaluation metrics: retrieval mAP@ALL / mAP@k, P-R and precision@scope curves.

Conventions (PROTOCOLS.md):
  * `similarity` is (n_query, n_retrieval); higher means more relevant.
  * Rankings sort by decreasing similarity with a *stable* sort: among equal
    scores the retrieval item with the lower index ranks first.
  * AP of a query = mean of precision@r over the ranks r of its relevant items
    (within the top k when k is given; the denominator is the number of
    relevant items in that ranking).
  * Single-label: relevant = same label; a query with no relevant item scores
    0 and still counts. Multi-label (`multilabel_map`): relevant = at least
    one shared label; queries with no relevant item in the ranking are
    skipped, as the reference code does.

Everything is vectorised over blocks of queries (no Python loop per query);
block size bounds memory, so 30k x 30k similarity matrices are fine.
"""

from __future__ import annotations

from typing import Sequence

import numpy as np

from xmjax.errors import InputError


def _check(similarity, n_query, n_retrieval):
  if similarity.ndim != 2 or similarity.shape != (n_query, n_retrieval):
    raise InputError(f"similarity: expected shape ({n_query}, {n_retrieval}) for "
                     f"{n_query} queries and {n_retrieval} retrieval items, got {similarity.shape}")


def _blocks(n, block_size):
  for start in range(0, n, block_size):
    yield slice(start, min(start + block_size, n))


def _rank(similarity_block: np.ndarray, k: int | None) -> np.ndarray:
  order = np.argsort(-similarity_block, axis=1, kind="stable")
  return order if k is None else order[:, :k]


def _average_precision(relevant: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
  """relevant (B, K) bool in rank order -> (AP (B,), number relevant (B,))."""
  hits = np.cumsum(relevant, axis=1)
  precision = hits / np.arange(1, relevant.shape[1] + 1)
  count = relevant.sum(axis=1)
  ap = np.where(count > 0, (precision * relevant).sum(axis=1) / np.maximum(count, 1), 0.0)
  return ap, count


def map_at_all(similarity, query_labels, retrieval_labels, *, k: int | None = None,
               block_size: int = 1024) -> float:
  """Single-label mean average precision over all queries (mAP@ALL, or mAP@k).

  Args:
    similarity: (n_query, n_retrieval).
    query_labels: (n_query,) ints. retrieval_labels: (n_retrieval,) ints.
    k: rank cut-off (e.g. 50 for mAP@50); None = the whole retrieval set.
  """
  similarity = np.asarray(similarity)
  query_labels, retrieval_labels = np.asarray(query_labels), np.asarray(retrieval_labels)
  _check(similarity, len(query_labels), len(retrieval_labels))
  total = 0.0
  for rows in _blocks(len(query_labels), block_size):
    order = _rank(similarity[rows], k)
    relevant = retrieval_labels[order] == query_labels[rows, None]
    total += _average_precision(relevant)[0].sum()
  return float(total / max(len(query_labels), 1))


def multilabel_map(similarity, query_labels, retrieval_labels, *, k: int | None = None,
                   block_size: int = 1024) -> float:
  """Multi-label mAP: labels are (n, c) multi-hot; relevant = a shared label.

  Queries with no relevant item in the ranking are skipped (reference code).
  """
  similarity = np.asarray(similarity)
  query_labels = np.asarray(query_labels, np.float32)
  retrieval_labels = np.asarray(retrieval_labels, np.float32)
  _check(similarity, len(query_labels), len(retrieval_labels))
  total, counted = 0.0, 0
  for rows in _blocks(len(query_labels), block_size):
    order = _rank(similarity[rows], k)
    shared = query_labels[rows] @ retrieval_labels.T > 0
    relevant = np.take_along_axis(shared, order, axis=1)
    ap, count = _average_precision(relevant)
    total += ap[count > 0].sum()
    counted += int((count > 0).sum())
  return float(total / max(counted, 1))


def retrieval_curves(similarity, query_labels, retrieval_labels,
                     scopes: Sequence[int] | None = None,
                     block_size: int = 1024) -> dict[str, np.ndarray]:
  """Mean precision@K and recall@K over queries for each scope K.

  Precision@scope is the papers' precision-scope curve; (recall@K,
  precision@K) over K traces their precision-recall curve.
  """
  similarity = np.asarray(similarity)
  query_labels, retrieval_labels = np.asarray(query_labels), np.asarray(retrieval_labels)
  _check(similarity, len(query_labels), len(retrieval_labels))
  n_r = len(retrieval_labels)
  if scopes is None:
    scopes = np.unique(np.linspace(1, n_r, num=min(n_r, 50)).astype(int))
  scopes = np.asarray(scopes)
  precision = np.zeros(len(scopes))
  recall = np.zeros(len(scopes))
  for rows in _blocks(len(query_labels), block_size):
    order = _rank(similarity[rows], None)
    relevant = retrieval_labels[order] == query_labels[rows, None]
    hits = np.cumsum(relevant, axis=1)[:, scopes - 1]
    total = np.maximum(relevant.sum(axis=1, keepdims=True), 1)
    precision += (hits / scopes).sum(axis=0)
    recall += (hits / total).sum(axis=0)
  n = max(len(query_labels), 1)
  return {"scope": scopes, "precision": precision / n, "recall": recall / n}


def plot_retrieval_curves(curves: dict[str, dict[str, np.ndarray]], path: str,
                          title: str = "") -> None:
  """Writes a PNG with the P-R curve and the precision@scope curve of each
  named direction (e.g. {"image2text": curves, ...})."""
  import matplotlib
  matplotlib.use("Agg")
  import matplotlib.pyplot as plt
  fig, (pr, ps) = plt.subplots(1, 2, figsize=(10, 4))
  for name, c in curves.items():
    pr.plot(c["recall"], c["precision"], label=name)
    ps.plot(c["scope"], c["precision"], label=name)
  pr.set(xlabel="recall", ylabel="precision", title="precision-recall", xlim=(0, 1), ylim=(0, 1.02))
  ps.set(xlabel="scope K", ylabel="precision@K", title="precision@scope", ylim=(0, 1.02))
  for ax in (pr, ps):
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
  if title:
    fig.suptitle(title)
  fig.tight_layout()
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
