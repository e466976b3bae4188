"""Sparse node attributes (xmjax.nn.SparseRows): the same parameters and
numbers as the dense matrices they stand for, in every layer that reads raw
attributes, and in the ratings task end to end (rrnet.attribute_layout)."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from conftest import load_config, set_fields
from xmjax import graph as graph_lib
from xmjax.graph import ratings as rating_graph
from xmjax.models import RRNet
from xmjax.nn import MLP, EdgeConcatDense, SparseRows
from xmjax.train import train_and_evaluate

from test_rrnet_tasks import write_filmtrust


def random_sparse(rng, shape, nnz):
  rows = rng.integers(0, shape[0], nnz)
  cols = rng.integers(0, shape[1], nnz)
  rows[:3], cols[:3] = 1, 2                 # a repeated position adds up
  return SparseRows.from_coo(rows, cols, rng.normal(size=nnz).astype(np.float32), shape)


def test_sparse_matmul_equals_dense_with_gradients_under_jit():
  rng = np.random.default_rng(0)
  x = random_sparse(rng, (7, 11), 30)
  dense = np.zeros((7, 11), np.float32)
  np.add.at(dense, (np.asarray(x.rows), np.asarray(x.cols)), np.asarray(x.values))
  np.testing.assert_allclose(x.todense(), dense, rtol=1e-6)
  np.testing.assert_allclose(x.T.todense(), dense.T, rtol=1e-6)
  kernel = jnp.asarray(rng.normal(size=(11, 4)), jnp.float32)
  np.testing.assert_allclose(jax.jit(lambda a, k: a @ k)(x, kernel), dense @ kernel,
                             rtol=1e-5, atol=1e-6)
  grad_sparse = jax.grad(lambda k: jnp.sum(jnp.sin(x @ k)))(kernel)
  grad_dense = jax.grad(lambda k: jnp.sum(jnp.sin(dense @ k)))(kernel)
  np.testing.assert_allclose(grad_sparse, grad_dense, rtol=1e-5, atol=1e-6)
  with pytest.raises(ValueError, match=r"kernel must be \(11, F\)"):
    x @ jnp.zeros((10, 4))
  with pytest.raises(ValueError, match="rows, cols and values must be"):
    SparseRows.from_coo(np.zeros(3, int), np.zeros(2, int), np.zeros(3), (2, 2))


def test_layers_take_sparse_attributes_with_the_dense_parameters():
  rng = np.random.default_rng(1)
  x, y = random_sparse(rng, (6, 9), 20), random_sparse(rng, (5, 8), 15)
  key = jax.random.key(0)
  mlp = MLP((4, 3))
  params = mlp.init(key, x.todense())
  assert jax.tree.map(jnp.shape, mlp.init(key, x)) == jax.tree.map(jnp.shape, params)
  np.testing.assert_allclose(mlp.apply(mlp.init(key, x), x), mlp.apply(params, x.todense()),
                             rtol=1e-5, atol=1e-6)   # same initialisation, same output
  layer = EdgeConcatDense(4)
  senders, receivers = jnp.array([0, 5, 2, 2]), jnp.array([4, 0, 1, 3])
  p = layer.init(key, x.todense(), y.todense(), senders, receivers)
  np.testing.assert_allclose(layer.apply(p, x, y, senders, receivers),
                             layer.apply(p, x.todense(), y.todense(), senders, receivers),
                             rtol=1e-5, atol=1e-6)


def tiny_rating_graph(layout):
  rng = np.random.default_rng(2)
  users, items = np.divmod(rng.choice(8 * 6, 20, replace=False), 6)
  ratings = rating_graph.AttributeRatings(jnp.asarray(users, jnp.int32), jnp.asarray(items, jnp.int32),
                                jnp.asarray(rng.normal(size=20), jnp.float32),
                                jnp.asarray(rng.random(20) < 0.7, jnp.float32))
  nodes1, nodes2 = rating_graph.attributes_from_ratings(ratings, 8, 6, layout)
  inter = graph_lib.EdgeSet(jnp.asarray(users, jnp.int32), jnp.asarray(items, jnp.int32))
  trust = graph_lib.EdgeSet(jnp.array([0, 1, 3, 7]), jnp.array([1, 2, 0, 6]))
  none = graph_lib.EdgeSet(jnp.zeros((0,), jnp.int32), jnp.zeros((0,), jnp.int32))
  return graph_lib.CrossModalGraph(nodes1=nodes1, nodes2=nodes2, intra1=trust, intra2=none,
                                   inter=inter, inter_targets=jnp.zeros((20,)),
                                   inter_mask=jnp.ones((20,), bool),
                                   node1_mask=jnp.ones((8,), bool))


@pytest.mark.parametrize("chunks", [0, 4])
def test_rrnet_on_sparse_rating_attributes_equals_dense(chunks):
  dense, sparse = tiny_rating_graph("dense"), tiny_rating_graph("sparse")
  assert isinstance(sparse.nodes1, SparseRows) and sparse.nodes1.shape == (8, 6)
  np.testing.assert_allclose(sparse.nodes1.todense(), dense.nodes1, rtol=1e-6)
  np.testing.assert_allclose(sparse.nodes2.todense(), dense.nodes2, rtol=1e-6)
  model = RRNet(latent=4, hidden=5, fixed_degree=False, edge_chunks=chunks)
  params = model.init(jax.random.key(0), dense)
  assert jax.tree.all(jax.tree.map(lambda a, b: bool(jnp.array_equal(a, b)),
                                   model.init(jax.random.key(0), sparse), params))
  loss = lambda p, g: jnp.sum(jnp.tanh(model.apply(p, g)))
  np.testing.assert_allclose(jax.jit(model.apply)(params, sparse), model.apply(params, dense),
                             rtol=1e-4, atol=1e-5)
  for a, b in zip(jax.tree.leaves(jax.jit(jax.grad(loss))(params, sparse)),
                  jax.tree.leaves(jax.grad(loss)(params, dense))):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize("budget", [4_000_000, 100])   # full graph, edge mini-batches
def test_ratings_task_with_sparse_attributes_matches_dense(tmp_path, budget):
  """rrnet.attribute_layout="sparse": the split graph holds SparseRows, and
  a short run gives the dense run's predictions (float summation order aside)."""
  from xmjax.train.experiments import rrnet_ratings as rr
  write_filmtrust(tmp_path / "filmtrust")
  fields = {"data.dir": str(tmp_path / "filmtrust"), "data.num_splits": 1,
            "rrnet.num_steps": 3, "rrnet.edge_budget": budget, "rrnet.edge_batch_size": 50,
            "rrnet.prediction_draws": 2}
  out = {}
  for layout in ("dense", "sparse"):
    config = set_fields(load_config("rrnet_filmtrust"), **{**fields,
                                                           "rrnet.attribute_layout": layout})
    if layout == "sparse":
      assert isinstance(rr.prepare(config).split_graph(0).nodes1, SparseRows)
    out[layout] = train_and_evaluate(config, str(tmp_path / layout))
  assert out["dense"]["training"] == ("full_graph" if budget > 100 else "edge_minibatch")
  for key in ("rrnet/test_mae", "rrnet/test_rmse"):
    assert out["sparse"][key] == pytest.approx(out["dense"][key], rel=1e-4)
