"""Blockwise kNN and top-K candidates against brute force."""

import numpy as np
import pytest

from xmjax import InputError
from xmjax.graph import brute_force_knn, knn_graph, topk_candidates


@pytest.mark.parametrize("metric", ["cosine", "euclidean", "dot"])
@pytest.mark.parametrize("n,row_block,col_block", [(97, 16, 10), (64, 64, 64), (130, 7, 200)])
def test_knn_matches_brute_force(metric, n, row_block, col_block):
  rng = np.random.default_rng(n)
  x = rng.normal(size=(n, 12)).astype(np.float32)
  k = 6
  senders, receivers = knn_graph(x, k, metric=metric, row_block=row_block, col_block=col_block)
  senders, receivers = np.asarray(senders), np.asarray(receivers)
  assert senders.dtype == np.int32 and receivers.dtype == np.int32
  assert senders.shape == receivers.shape == (n * k,)
  np.testing.assert_array_equal(senders, np.repeat(np.arange(n), k))  # sorted, exactly k each
  assert not np.any(senders == receivers)                              # no self loops
  np.testing.assert_array_equal(receivers.reshape(n, k), brute_force_knn(x, k, metric))


def test_knn_ties_keep_lower_index_like_a_stable_sort():
  # Four identical points and one far away: every tie resolves to the lower index,
  # whatever the block sizes.
  x = np.array([[1, 0], [1, 0], [1, 0], [1, 0], [0, 1]], np.float32)
  for blocks in [(1, 1), (2, 3), (5, 5)]:
    _, receivers = knn_graph(x, 2, row_block=blocks[0], col_block=blocks[1])
    np.testing.assert_array_equal(np.asarray(receivers).reshape(5, 2),
                                  brute_force_knn(x, 2))


def test_topk_candidates():
  rng = np.random.default_rng(0)
  scores = rng.random((20, 7)).astype(np.float32)
  senders, receivers = topk_candidates(scores, 3)
  np.testing.assert_array_equal(np.asarray(senders), np.repeat(np.arange(20), 3))
  np.testing.assert_array_equal(np.asarray(receivers).reshape(20, 3),
                                np.argsort(-scores, axis=1, kind="stable")[:, :3])


@pytest.mark.parametrize("k", [0, 10, 11])
def test_knn_rejects_impossible_k(k):
  with pytest.raises(InputError, match=r"^k: need 1 <= k < number of nodes"):
    knn_graph(np.ones((10, 3), np.float32), k)


def test_knn_rejects_non_finite_features():
  x = np.ones((10, 3), np.float32)
  x[4, 1] = np.nan
  with pytest.raises(InputError, match="node feats: features contain NaN or Inf"):
    knn_graph(x, 2, name="node feats")
  x[4, 1] = np.inf
  with pytest.raises(InputError, match="NaN or Inf"):
    knn_graph(x, 2)


def test_topk_rejects_bad_input():
  with pytest.raises(InputError, match=r"k: need 1 <= k <= 4"):
    topk_candidates(np.ones((3, 4)), 5)
  with pytest.raises(InputError, match="expected an \\(N1, N2\\) score matrix"):
    topk_candidates(np.ones(4), 1)


def test_knn_and_topk_run_under_jit_and_vmap():
  import jax
  from xmjax.graph import blockwise_topk
  rng = np.random.default_rng(5)
  batch = rng.normal(size=(3, 40, 6)).astype(np.float32)
  jitted = jax.jit(lambda x: knn_graph(x, 4, row_block=16, col_block=8))
  senders, receivers = jitted(batch[0])
  np.testing.assert_array_equal(senders, np.repeat(np.arange(40), 4))
  np.testing.assert_array_equal(np.asarray(receivers).reshape(40, 4), brute_force_knn(batch[0], 4))
  _, batched = jax.vmap(lambda x: knn_graph(x, 4, metric="euclidean", row_block=16))(batch)
  for b in range(3):
    np.testing.assert_array_equal(np.asarray(batched[b]).reshape(40, 4),
                                  brute_force_knn(batch[b], 4, "euclidean"))
  scores = rng.random((3, 10, 7)).astype(np.float32)
  _, best = jax.jit(jax.vmap(lambda s: topk_candidates(s, 3)))(scores)
  for b in range(3):
    np.testing.assert_array_equal(np.asarray(best[b]).reshape(10, 3),
                                  np.argsort(-scores[b], axis=1, kind="stable")[:, :3])
  # The kernel, public: queries against other keys.
  queries, keys = batch[0][:5], batch[1]
  idx = blockwise_topk(queries, keys, np.zeros(40, np.float32), k=3, row_block=2, col_block=16,
                       exclude_self=False)
  np.testing.assert_array_equal(idx, np.argsort(-(queries @ keys.T), axis=1, kind="stable")[:, :3])


def test_traced_nan_rows_still_get_valid_neighbours_and_are_never_chosen():
  import jax
  x = np.random.default_rng(6).normal(size=(12, 3)).astype(np.float32)
  x[3] = np.nan
  _, receivers = jax.jit(lambda f: knn_graph(f, 2, row_block=5, col_block=4))(x)
  receivers = np.asarray(receivers).reshape(12, 2)
  assert ((receivers >= 0) & (receivers < 12)).all()
  assert not (np.delete(receivers, 3, axis=0) == 3).any()
  _, best = jax.jit(lambda s: topk_candidates(s, 2))(np.where(np.eye(4, 5) > 0, np.nan, 1.0))
  assert not (np.asarray(best).reshape(4, 2) == np.arange(4)[:, None]).any()


@pytest.mark.parametrize("group,col_block,k", [(4, 32, 8), (8, 64, 5), (2, 16, 3), (16, 64, 4)])
@pytest.mark.parametrize("exclude_self", [True, False])
def test_two_level_merge_equals_the_plain_merge_exactly_ties_nan_and_inf_included(
    group, col_block, k, exclude_self):
  """The two-level merge (best groups first) returns the plain merge's
  indices exactly: on coarse integer points, where most scores tie, with a
  NaN query row, NaN and -inf keys (rank last, ties to the lower index), and
  k as large as the number of groups in a block."""
  import jax
  from xmjax.graph import blockwise_topk
  rng = np.random.default_rng(group * 100 + col_block + k)
  keys = rng.integers(-1, 2, size=(150, 3)).astype(np.float32)     # 27 distinct points
  queries = keys[:40].copy()
  queries[7] = np.nan
  keys[11] = np.nan
  bias = np.zeros(150, np.float32)
  bias[[3, 60, 61]] = -np.inf
  run = lambda g: np.asarray(jax.jit(lambda q, x, b: blockwise_topk(
      q, x, b, 0, k=k, row_block=8, col_block=col_block, exclude_self=exclude_self,
      group=g))(queries, keys, bias))
  plain, two_level = run(1), run(group)
  np.testing.assert_array_equal(two_level, plain)
  # and both are the stable sort of the scores (NaN last, self excluded)
  scores = queries @ keys.T + bias
  scores = np.where(np.isnan(scores), -np.finfo(np.float32).max, scores)
  if exclude_self:
    scores[np.arange(40), np.arange(40)] = -np.inf
  np.testing.assert_array_equal(plain, np.argsort(-scores, axis=1, kind="stable")[:, :k])


def test_knn_graph_defaults_use_the_two_level_merge_and_match_brute_force():
  x = np.random.default_rng(9).normal(size=(700, 8)).astype(np.float32)
  _, receivers = knn_graph(x, 20)      # col_block 704 = 22 groups of 32 >= k
  np.testing.assert_array_equal(np.asarray(receivers).reshape(700, 20), brute_force_knn(x, 20))
