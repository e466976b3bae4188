"""Each RR-Net layer against a plain NumPy transcription of the paper's equations (3)-(8)."""

import jax
import jax.numpy as jnp
import jraph
import numpy as np
import pytest

import xmjax.nn as xnn

# A hand-made graph: 5 nodes, 7 directed edges, one self loop (4 -> 4).
SENDERS = np.array([0, 0, 1, 2, 3, 4, 4], np.int32)
RECEIVERS = np.array([1, 2, 2, 0, 4, 0, 4], np.int32)
F_V, F_E = 3, 2


def _graph(seed=0):
  rng = np.random.default_rng(seed)
  return jraph.GraphsTuple(
      nodes=jnp.asarray(rng.normal(size=(5, F_V)), jnp.float32),
      edges=jnp.asarray(rng.normal(size=(7, F_E)), jnp.float32),
      senders=jnp.asarray(SENDERS), receivers=jnp.asarray(RECEIVERS),
      n_node=jnp.array([5]), n_edge=jnp.array([7]), globals=None)


def randomized(params, seed=0):
  """Every parameter redrawn (biases included: init leaves them zero, and a
  bias applied twice, or not at all, would pass against zeros)."""
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(100 + seed), len(leaves))
  return jax.tree.unflatten(treedef, [0.5 * jax.random.normal(k, x.shape, x.dtype)
                                      for k, x in zip(keys, leaves)])


def relu(x):
  return np.maximum(x, 0.0)


def np_mlp(params, x, activate_final=True):
  """The MLP as written: dense_i, ReLU between (and after the last if activate_final)."""
  n = len(params)
  for i in range(n):
    x = x @ np.asarray(params[f"dense_{i}"]["kernel"]) + np.asarray(params[f"dense_{i}"]["bias"])
    if i < n - 1 or activate_final:
      x = relu(x)
  return x


def np_incident(edges, node):
  """E_v of eq. (8): every edge the node sends and every edge it receives."""
  rows = [edges[i] for i in range(len(SENDERS)) if SENDERS[i] == node]
  rows += [edges[i] for i in range(len(RECEIVERS)) if RECEIVERS[i] == node]
  return np.array(rows)


def test_intra_edge_layer_is_eq_3_to_5():
  graph = _graph()
  layer = xnn.IntraEdgeLayer(features=(4, 6))
  params = layer.init(jax.random.key(0), graph)["params"]
  params = randomized(params, 0)
  out = np.asarray(layer.apply({"params": params}, graph).edges)
  v, e = np.asarray(graph.nodes), np.asarray(graph.edges)
  kernel, bias = np.asarray(params["first"]["kernel"]), np.asarray(params["first"]["bias"])
  for i in range(len(SENDERS)):
    e_hat = np.concatenate([v[SENDERS[i]], v[RECEIVERS[i]]])           # eq. (3)-(4)
    hidden = relu(np.concatenate([e_hat, e[i]]) @ kernel + bias)        # zeta: MLP on [e_hat || e]
    expected = np_mlp(params["rest"], hidden)                           # eq. (5)
    np.testing.assert_allclose(out[i], expected, rtol=1e-5, atol=1e-6)


def test_inter_edge_layer_is_eq_6_7():
  graph = _graph(1)
  layer = xnn.InterEdgeLayer(features=(4, 6), kernel_features=5)
  params = layer.init(jax.random.key(1), graph)["params"]
  params = randomized(params, 1)
  out = np.asarray(layer.apply({"params": params}, graph).edges)
  v, e = np.asarray(graph.nodes), np.asarray(graph.edges)
  w = np.asarray(params["W"]["kernel"])
  assert "bias" not in params["W"]  # W is a plain learned matrix
  for i in range(len(SENDERS)):
    e_hat = np.concatenate([v[SENDERS[i]], v[RECEIVERS[i]]]) @ w       # eq. (7): W (v_s || v_r)
    expected = np_mlp(params["mlp"], np.concatenate([e_hat, e[i]]))     # eq. (6)
    np.testing.assert_allclose(out[i], expected, rtol=1e-5, atol=1e-6)


def test_inter_edge_layer_product_adds_a_kernel_on_the_elementwise_product():
  """product=True (not in the paper): W (v_s || v_r) + W_product (v_s * v_r)."""
  graph = _graph(2)
  layer = xnn.InterEdgeLayer(features=(4, 6), kernel_features=5, product=True)
  params = randomized(layer.init(jax.random.key(2), graph)["params"], 2)
  out = np.asarray(layer.apply({"params": params}, graph).edges)
  v, e = np.asarray(graph.nodes), np.asarray(graph.edges)
  w, w_product = np.asarray(params["W"]["kernel"]), np.asarray(params["W_product"]["kernel"])
  assert "bias" not in params["W_product"]
  for i in range(len(SENDERS)):
    s, r = v[SENDERS[i]], v[RECEIVERS[i]]
    e_hat = np.concatenate([s, r]) @ w + (s * r) @ w_product
    expected = np_mlp(params["mlp"], np.concatenate([e_hat, e[i]]))
    np.testing.assert_allclose(out[i], expected, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("reduction", ["mean", "sum", "max"])
def test_node_layer_is_eq_8(reduction):
  graph = _graph(2)
  layer = xnn.NodeLayer(features=(4, 3), aggregation=reduction)
  params = layer.init(jax.random.key(2), graph)["params"]
  params = randomized(params, 2)
  out = np.asarray(layer.apply({"params": params}, graph).nodes)
  v, e = np.asarray(graph.nodes), np.asarray(graph.edges)
  reduce = {"mean": np.mean, "sum": np.sum, "max": np.max}[reduction]
  for node in range(5):
    incident = np_incident(e, node)
    agg = reduce(incident, axis=0) if len(incident) else np.zeros(F_E)   # phi^v, non-parametric
    expected = np_mlp(params["mlp"], np.concatenate([agg, v[node]]))    # zeta^v
    np.testing.assert_allclose(out[node], expected, rtol=1e-5, atol=1e-6)


def test_node_with_no_edges_aggregates_to_zero():
  edges = jnp.ones((2, 3))
  out = xnn.aggregate_edges(edges, jnp.array([0, 1]), jnp.array([1, 0]), 3, "max")
  np.testing.assert_array_equal(np.asarray(out[2]), np.zeros(3))


@pytest.mark.parametrize("reduction", ["mean", "sum", "max"])
def test_fixed_degree_layout_equals_segment_reduction(reduction):
  # Nodes 0..3 send 2 edges each, nodes 4..5 send none: the scatter-free path
  # must give exactly what the general one gives.
  rng = np.random.default_rng(3)
  senders = jnp.asarray(np.repeat(np.arange(4), 2), jnp.int32)
  receivers = jnp.asarray(rng.integers(0, 6, 8), jnp.int32)
  edges = jnp.asarray(rng.normal(size=(8, 4)), jnp.float32)
  general = xnn.aggregate_edges(edges, senders, receivers, 6, reduction)
  fast = xnn.aggregate_edges(edges, senders, receivers, 6, reduction,
                             sender_layout=((4, 2), (2, 0)))
  np.testing.assert_allclose(np.asarray(fast), np.asarray(general), rtol=1e-6, atol=1e-6)


def test_units_compose_edge_then_node_layer():
  graph = _graph(4)
  unit = xnn.InterGCNUnit(features=(4, 3))
  params = randomized(unit.init(jax.random.key(4), graph)["params"], 4)
  out = unit.apply({"params": params}, graph)
  edge = xnn.InterEdgeLayer(features=(4, 3)).apply({"params": params["edge"]}, graph)
  node = xnn.NodeLayer(features=(4, 3)).apply({"params": params["node"]}, edge)
  np.testing.assert_allclose(np.asarray(out.nodes), np.asarray(node.nodes), rtol=1e-6)
  np.testing.assert_allclose(np.asarray(out.edges), np.asarray(edge.edges), rtol=1e-6)
  assert out.nodes.shape == (5, 3) and out.edges.shape == (7, 3)
