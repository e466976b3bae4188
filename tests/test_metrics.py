"""Retrieval metrics against plain, obviously-correct per-query loops."""

import numpy as np
import pytest

from xmjax import InputError, metrics


def reference_map(sim, ql, rl, k=None):
  aps = []
  for i in range(sim.shape[0]):
    order = sorted(range(sim.shape[1]), key=lambda j: (-sim[i, j], j))  # ties: lower index first
    if k is not None:
      order = order[:k]
    hits, precisions = 0, []
    for rank, j in enumerate(order, start=1):
      if rl[j] == ql[i]:
        hits += 1
        precisions.append(hits / rank)
    aps.append(np.mean(precisions) if precisions else 0.0)
  return float(np.mean(aps))


def reference_multilabel_map(sim, ql, rl, k=None):
  aps = []
  for i in range(sim.shape[0]):
    order = sorted(range(sim.shape[1]), key=lambda j: (-sim[i, j], j))[:k]
    relevant = [bool((ql[i] * rl[j]).sum() > 0) for j in order]
    if not any(relevant):
      continue
    hits, precisions = 0, []
    for rank, rel in enumerate(relevant, start=1):
      if rel:
        hits += 1
        precisions.append(hits / rank)
    aps.append(np.mean(precisions))
  return float(np.mean(aps))


@pytest.mark.parametrize("k", [None, 1, 7, 50])
@pytest.mark.parametrize("block_size", [3, 1024])
def test_map_matches_reference(k, block_size):
  rng = np.random.default_rng(0)
  sim = rng.normal(size=(23, 41))
  ql, rl = rng.integers(0, 5, 23), rng.integers(0, 5, 41)
  ql[0] = 7  # a query with no relevant item scores 0 and still counts
  got = metrics.map_at_all(sim, ql, rl, k=k, block_size=block_size)
  assert got == pytest.approx(reference_map(sim, ql, rl, k), abs=1e-12)


def test_map_ties_are_broken_by_lower_retrieval_index():
  sim = np.zeros((1, 4))                       # every item tied
  assert metrics.map_at_all(sim, [1], [0, 1, 0, 1]) == pytest.approx((1 / 2 + 2 / 4) / 2)
  assert metrics.map_at_all(sim, [1], [1, 0, 1, 0]) == pytest.approx(1.0 * 0.5 + 2 / 3 * 0.5)


def test_map_on_device_equals_the_reference_ties_included():
  import jax
  import jax.numpy as jnp
  rng = np.random.default_rng(1)
  sim = np.round(rng.normal(size=(19, 31)), 1).astype(np.float32)   # rounded: many ties
  ql, rl = rng.integers(0, 4, 19), rng.integers(0, 4, 31)
  ql[0] = 9
  got = jax.jit(metrics.map_at_all_on_device)(jnp.asarray(sim), jnp.asarray(ql), jnp.asarray(rl))
  assert float(got) == pytest.approx(reference_map(sim, ql, rl), abs=1e-6)


def test_perfect_and_worst_rankings():
  labels = np.array([0, 0, 1, 1])
  sim = (labels[:, None] == labels[None, :]).astype(float)
  assert metrics.map_at_all(sim, labels, labels) == pytest.approx(1.0)
  assert metrics.map_at_all(-sim, labels, labels) == pytest.approx((1 / 3 + 2 / 4) / 2)


@pytest.mark.parametrize("k", [None, 5])
def test_multilabel_map_matches_reference(k):
  rng = np.random.default_rng(1)
  sim = rng.normal(size=(17, 30))
  ql = (rng.random((17, 6)) < 0.2).astype(int)
  rl = (rng.random((30, 6)) < 0.2).astype(int)
  ql[3] = 0  # no label at all: skipped
  got = metrics.multilabel_map(sim, ql, rl, k=k, block_size=4)
  assert got == pytest.approx(reference_multilabel_map(sim, ql, rl, k), abs=1e-12)


def test_curves_match_reference():
  rng = np.random.default_rng(2)
  sim = rng.normal(size=(9, 20))
  ql, rl = rng.integers(0, 3, 9), rng.integers(0, 3, 20)
  c = metrics.retrieval_curves(sim, ql, rl, scopes=[1, 5, 20], block_size=4)
  for idx, scope in enumerate([1, 5, 20]):
    precision, recall = [], []
    for i in range(9):
      order = sorted(range(20), key=lambda j: (-sim[i, j], j))[:scope]
      hits = sum(rl[j] == ql[i] for j in order)
      precision.append(hits / scope)
      recall.append(hits / max((rl == ql[i]).sum(), 1))
    assert c["precision"][idx] == pytest.approx(np.mean(precision))
    assert c["recall"][idx] == pytest.approx(np.mean(recall))
  assert c["recall"][-1] == pytest.approx(np.mean([(rl == q).sum() > 0 for q in ql]))


def test_plot_is_written(tmp_path):
  rng = np.random.default_rng(3)
  c = metrics.retrieval_curves(rng.normal(size=(5, 8)), rng.integers(0, 2, 5), rng.integers(0, 2, 8))
  metrics.plot_retrieval_curves({("a", "b"): c}, str(tmp_path / "p.png"), title="t")
  assert (tmp_path / "p.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_six_view_figure_has_one_curve_per_query_modality_and_an_map_matrix(tmp_path, monkeypatch):
  """30 ordered pairs draw 6 lines per curve panel, plus a 6 x 6 mAP matrix."""
  import matplotlib.figure
  rng = np.random.default_rng(4)
  views = ["fac", "fou", "kar", "mor", "pix", "zer"]
  labels = {v: rng.integers(0, 3, 20) for v in views}
  curves, maps = {}, {}
  for q in views:
    for t in views:
      if q != t:
        sim = rng.normal(size=(20, 20))
        curves[(q, t)] = metrics.retrieval_curves(sim, labels[q], labels[t])
        maps[(q, t)] = metrics.map_at_all(sim, labels[q], labels[t])
  saved = []
  original = matplotlib.figure.Figure.savefig
  monkeypatch.setattr(matplotlib.figure.Figure, "savefig",
                      lambda fig, *a, **k: (saved.append(fig), original(fig, *a, **k))[1])
  metrics.plot_retrieval_curves(curves, str(tmp_path / "six.png"), title="six", maps=maps)
  (fig,) = saved
  matrix, pr, ps = fig.axes[:3]
  assert len(pr.lines) == len(ps.lines) == 6
  cells = [t.get_text() for t in matrix.texts]
  assert len(cells) == 30 and f"{maps[('fac', 'zer')]:.3f}" in cells
  assert pr.get_legend() is None and ps.get_legend() is None and len(fig.legends) == 1


def test_shape_mismatch_is_named():
  with pytest.raises(InputError, match=r"similarity: expected shape \(2, 3\)"):
    metrics.map_at_all(np.zeros((3, 2)), [0, 1], [0, 1, 2])


def test_large_matrix_runs_in_blocks():
  rng = np.random.default_rng(4)
  sim = rng.random((3000, 3000)).astype(np.float32)
  labels = rng.integers(0, 10, 3000)
  value = metrics.map_at_all(sim, labels, labels, block_size=256)
  assert 0.05 < value < 0.2  # random scores: about the relevant fraction


# --------------------------------------------------------------------------
# Non-finite scores: refused by default, the worst case when asked for.

def _nan_rows(shape, fraction, seed=0):
  rng = np.random.default_rng(seed)
  sim = rng.normal(size=shape)
  sim[rng.random(shape[0]) < fraction] = np.nan
  sim[0, 1] = np.inf   # +inf is no better than NaN
  return sim


def pessimistic_map(sim, ql, rl):
  """mAP with non-finite scores after every finite one, relevant ones last."""
  aps = []
  for i in range(sim.shape[0]):
    def key(j):
      bad = not np.isfinite(sim[i, j])
      return (bad, 0.0 if bad else -sim[i, j], bad and rl[j] == ql[i], j)
    hits, precisions = 0, []
    for rank, j in enumerate(sorted(range(sim.shape[1]), key=key), start=1):
      if rl[j] == ql[i]:
        hits += 1
        precisions.append(hits / rank)
    aps.append(np.mean(precisions) if precisions else 0.0)
  return float(np.mean(aps))


def pessimistic_ranks(sim, cpi):
  """Brute-force SCAN ranks where a non-finite score loses every comparison."""
  def rank(row, target):
    if not np.isfinite(row[target]):
      return len(row) - 1
    return sum(np.isfinite(row[j]) and (row[j] > row[target] or (row[j] == row[target] and j < target))
               for j in range(len(row)))
  n = sim.shape[0]
  i2t = [min(rank(sim[i], c) for c in range(i * cpi, (i + 1) * cpi)) for i in range(n)]
  t2i = [rank(sim[:, c], c // cpi) for c in range(n * cpi)]
  return np.array(i2t), np.array(t2i)


RANKING_METRICS = {
    "map_at_all": lambda sim, **kw: metrics.map_at_all(sim, np.arange(sim.shape[0]) % 3,
                                                       np.arange(sim.shape[1]) % 3, **kw),
    "multilabel_map": lambda sim, **kw: metrics.multilabel_map(
        sim, np.eye(3)[np.arange(sim.shape[0]) % 3], np.eye(3)[np.arange(sim.shape[1]) % 3], **kw),
    "retrieval_curves": lambda sim, **kw: metrics.retrieval_curves(
        sim, np.arange(sim.shape[0]) % 3, np.arange(sim.shape[1]) % 3, **kw),
    "recall_at_k": lambda sim, **kw: metrics.recall_at_k(sim, 5, **kw),
    "retrieval_ranks": lambda sim, **kw: metrics.retrieval_ranks(sim, 5, **kw),
    "reranked_recall_at_k": lambda sim, **kw: metrics.reranked_recall_at_k(sim, 4, 5, **kw),
    "rerank_i2t": lambda sim, **kw: metrics.rerank_i2t(sim, 4, **kw),
    "coco_recall": lambda sim, **kw: metrics.coco_recall(sim, 5, fold_images=4, **kw),
    "minimal_pair_wins": lambda sim, **kw: metrics.minimal_pair_wins(sim, 5, **kw),
    "minimal_pair_accuracy": lambda sim, **kw: metrics.minimal_pair_accuracy(
        sim, np.zeros(sim.shape[0], int), **kw),
}


@pytest.mark.parametrize("name", sorted(RANKING_METRICS))
@pytest.mark.parametrize("fraction", [1.0, 0.3])
def test_every_ranking_metric_refuses_nonfinite_scores_by_default(name, fraction):
  sim = _nan_rows((8, 40), fraction)
  count = int((~np.isfinite(sim)).sum())
  with pytest.raises(InputError, match=rf"^{name}: similarity has {count} non-finite"):
    RANKING_METRICS[name](sim)
  RANKING_METRICS[name](sim, nonfinite="worst")   # and runs when asked
  with pytest.raises(InputError, match="nonfinite must be one of"):
    RANKING_METRICS[name](sim, nonfinite="ignore")


def test_all_nan_scores_get_the_worst_recall_not_a_perfect_one():
  sim = np.full((20, 100), np.nan)
  for result in (metrics.recall_at_k(sim, nonfinite="worst"),
                 metrics.reranked_recall_at_k(sim, nonfinite="worst")):
    assert result["rsum"] == 0.0
    assert result["i2t_medr"] == 100 and result["t2i_medr"] == 20
  coco = metrics.coco_recall(sim, fold_images=20, rerank_k1=5, nonfinite="worst")
  assert coco["1k_rsum"] == 0.0 and coco["5k_rsum"] == 0.0
  t2i, i2t = metrics.minimal_pair_wins(sim, nonfinite="worst")
  assert t2i.max() == 0.0 and i2t.max() == 0.0


@pytest.mark.parametrize("fraction", [1.0, 0.3])
def test_nan_ranks_match_a_brute_force_worst_case(fraction):
  sim = _nan_rows((10, 50), fraction, seed=1)
  i2t, t2i = metrics.retrieval_ranks(sim, 5, chunk=3, nonfinite="worst")
  ref_i2t, ref_t2i = pessimistic_ranks(sim, 5)
  np.testing.assert_array_equal(i2t, ref_i2t)
  np.testing.assert_array_equal(t2i, ref_t2i)
  # Partly-NaN scores cannot beat the same scores with the NaN rows intact.
  finite = np.random.default_rng(1).normal(size=(10, 50))
  worst = metrics.recall_at_k(np.where(np.isfinite(sim), sim, finite), nonfinite="raise")
  assert metrics.recall_at_k(sim, nonfinite="worst")["rsum"] <= worst["rsum"]


def test_reranking_keeps_nonfinite_scores_last():
  sim = _nan_rows((10, 50), 0.3, seed=2)
  out = metrics.rerank_i2t(sim, 4, nonfinite="worst")
  np.testing.assert_array_equal(np.isfinite(out), np.isfinite(sim))
  i2t, _ = metrics.retrieval_ranks(out, 5, nonfinite="worst")
  own_scores = sim.reshape(10, 10, 5)[np.arange(10), np.arange(10)]      # (image, its captions)
  all_bad = ~np.isfinite(own_scores).any(axis=1)
  assert all_bad.any() and (i2t[all_bad] == 49).all() and (i2t[~all_bad] < 49).all()


@pytest.mark.parametrize("fraction", [1.0, 0.3])
def test_nan_map_is_the_pessimistic_map(fraction):
  sim = _nan_rows((12, 30), fraction, seed=3)
  rng = np.random.default_rng(3)
  ql, rl = rng.integers(0, 4, 12), rng.integers(0, 4, 30)
  expected = pessimistic_map(sim, ql, rl)
  assert metrics.map_at_all(sim, ql, rl, block_size=5, nonfinite="worst") == pytest.approx(
      expected, abs=1e-12)
  on_device = float(metrics.map_at_all_on_device(sim.astype(np.float32), ql, rl))
  assert on_device == pytest.approx(expected, abs=1e-6)
  if fraction == 1.0:   # every relevant item ranks last: below the chance level of random scores
    chance = metrics.map_at_all(rng.normal(size=sim.shape), ql, rl)
    assert expected < chance
