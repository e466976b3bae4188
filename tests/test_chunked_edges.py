"""RR-Net's inter-edge blocks in chunks (xmjax.nn.chunked) and remat give the
numbers of the plain model: the same parameter tree, the same loss and
gradients, for every aggregation, with and without padding chunks; and the
ratings task picks its chunk count from rrnet.edge_chunk_size."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xmjax import graph as graph_lib
from xmjax.models import RRNet, bce_loss
from xmjax.nn.chunked import chunk_edges, unchunk_edges


def _bipartite_graph(num_users=12, num_items=9, dim=5, seed=0):
  rng = np.random.default_rng(seed)
  senders = np.repeat(np.arange(num_users, dtype=np.int32), num_items)
  receivers = np.tile(np.arange(num_items, dtype=np.int32), num_users)
  trust = graph_lib.EdgeSet(jnp.asarray(rng.integers(0, num_users, 20).astype(np.int32)),
                            jnp.asarray(rng.integers(0, num_users, 20).astype(np.int32)))
  none = graph_lib.EdgeSet(jnp.zeros((0,), jnp.int32), jnp.zeros((0,), jnp.int32))
  num_edges = num_users * num_items
  return graph_lib.CrossModalGraph(
      nodes1=jnp.asarray(rng.random((num_users, dim), np.float32)),
      nodes2=jnp.asarray(rng.random((num_items, dim + 2), np.float32)),
      intra1=trust, intra2=none,
      inter=graph_lib.EdgeSet(jnp.asarray(senders), jnp.asarray(receivers)),
      inter_targets=jnp.asarray(rng.random(num_edges, np.float32)),
      inter_mask=jnp.asarray(rng.random(num_edges) < 0.7),
      node1_mask=jnp.ones((num_users,), bool))


def _loss_and_grads(model, params, graph):
  def loss(p):
    return bce_loss(model.apply({"params": p}, graph), graph.inter_targets, graph.inter_mask)
  return jax.jit(jax.value_and_grad(loss))(params)


def test_chunk_edges_round_trip_with_padding():
  x = jnp.arange(14.0).reshape(7, 2)
  chunks = chunk_edges(x, 3, fill=-1)
  assert chunks.shape == (3, 3, 2) and float(chunks[-1, -1, 0]) == -1
  assert np.array_equal(unchunk_edges(chunks, 7), x)


@pytest.mark.parametrize("aggregation,chunks,product", [
    ("mean", 4, False),   # 108 edges: equal chunks
    ("mean", 5, True),    # padded chunks, product term
    ("max", 3, False)])
def test_chunked_rrnet_equals_the_plain_model(aggregation, chunks, product):
  graph = _bipartite_graph()
  units = "intra,inter,intra,inter,inter"
  plain = RRNet(latent=8, hidden=6, units=units, aggregation=aggregation, fixed_degree=False,
                inter_product=product)
  chunked = plain.clone(edge_chunks=chunks)
  params = plain.init(jax.random.key(1), graph)["params"]
  chunked_params = chunked.init(jax.random.key(1), graph)["params"]
  assert jax.tree.structure(chunked_params) == jax.tree.structure(params)
  for a, b in zip(jax.tree.leaves(chunked_params), jax.tree.leaves(params)):
    assert a.shape == b.shape
  np.testing.assert_allclose(chunked.apply({"params": params}, graph),
                             plain.apply({"params": params}, graph), rtol=1e-5, atol=1e-6)
  loss, grads = _loss_and_grads(plain, params, graph)
  chunked_loss, chunked_grads = _loss_and_grads(chunked, params, graph)
  np.testing.assert_allclose(chunked_loss, loss, rtol=1e-6)
  for a, b in zip(jax.tree.leaves(chunked_grads), jax.tree.leaves(grads)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_remat_gives_the_same_numbers():
  graph = _bipartite_graph(seed=2)
  plain = RRNet(latent=8, hidden=6, fixed_degree=False)
  params = plain.init(jax.random.key(0), graph)["params"]
  loss, grads = _loss_and_grads(plain, params, graph)
  remat_loss, remat_grads = _loss_and_grads(plain.clone(remat=True), params, graph)
  np.testing.assert_allclose(remat_loss, loss, rtol=1e-6)
  for a, b in zip(jax.tree.leaves(remat_grads), jax.tree.leaves(grads)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)


def test_chunked_edges_shrink_the_compiled_step():
  """Chunking is for memory: the compiled step's temporary buffers shrink."""
  graph = _bipartite_graph(num_users=60, num_items=80)
  plain = RRNet(latent=16, hidden=16, fixed_degree=False)
  params = plain.init(jax.random.key(0), graph)["params"]

  def temp_bytes(model):
    def loss(p):
      return bce_loss(model.apply({"params": p}, graph), graph.inter_targets, graph.inter_mask)
    compiled = jax.jit(jax.grad(loss)).lower(params).compile()
    return compiled.memory_analysis().temp_size_in_bytes

  assert temp_bytes(plain.clone(edge_chunks=8)) < 0.7 * temp_bytes(plain)


def test_ratings_chunk_count_prefers_divisors():
  from xmjax.graph.ratings import num_edge_chunks
  assert num_edge_chunks(3_400_582, 100_000) == 38   # 1642 x 2071 = 2 x 19 x 89,489
  assert num_edge_chunks(1000, 0) == 0 and num_edge_chunks(1000, 1000) == 0
  assert num_edge_chunks(1000, 300) == 4
  assert num_edge_chunks(1009, 300) == 4  # prime: padded chunks
