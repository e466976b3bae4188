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
