"""RR-Net model: padding invariance, loss, predictions."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from xmjax import graph as G
from xmjax.models import RRNet, bce_loss, classification_metrics, parse_units, predict_classes


def _problem(n=37, c=6, seed=0):
  rng = np.random.default_rng(seed)
  labels = rng.integers(0, c, n)
  features = rng.normal(size=(n, 9)).astype(np.float32) + 2 * np.eye(c, 9)[labels]
  scores = rng.random((n, c)).astype(np.float32)
  classes = rng.normal(size=(c, 5)).astype(np.float32)
  return G.classification_graph(features, classes, scores, labels, k1=4, k2=2,
                                num_candidates=3), labels


@pytest.mark.parametrize("aggregation", ["mean", "sum", "max"])
def test_padding_leaves_real_nodes_and_edges_unchanged(aggregation):
  graph, labels = _problem()
  padded = G.pad_cross_modal_graph(graph, 64, 9)
  model = RRNet(latent=8, hidden=8, units="intra,inter,inter", aggregation=aggregation)
  params = model.init(jax.random.key(0), graph)
  apply = jax.jit(model.apply)   # one compiled program per shape, not op by op
  logits = apply(params, graph)
  padded_logits = apply(params, padded)
  e = graph.inter.senders.shape[0]
  np.testing.assert_allclose(np.asarray(padded_logits[:e]), np.asarray(logits), rtol=1e-5,
                             atol=1e-6)
  # The masked loss and its gradient ignore padding entirely.
  def loss(p, g):
    return bce_loss(model.apply(p, g), g.inter_targets, g.inter_mask)
  loss = jax.jit(loss)
  np.testing.assert_allclose(loss(params, padded), loss(params, graph), rtol=1e-6)
  grad = jax.jit(jax.grad(loss))
  grads, padded_grads = grad(params, graph), grad(params, padded)
  jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=2e-4, atol=1e-6),
               grads, padded_grads)
  # Padding keeps the fixed layout and metrics count only real nodes.
  padded_labels = jnp.pad(jnp.asarray(labels), (0, 64 - len(labels)), constant_values=-1)
  m = classification_metrics(padded_logits, padded, padded_labels)
  m0 = classification_metrics(logits, graph, jnp.asarray(labels))
  np.testing.assert_allclose(m["accuracy"], m0["accuracy"])


def test_fixed_degree_fast_path_matches_general_path():
  graph, _ = _problem(seed=1)
  fast = RRNet(latent=8, hidden=8, fixed_degree=True)
  general = RRNet(latent=8, hidden=8, fixed_degree=False)
  params = fast.init(jax.random.key(1), graph)
  np.testing.assert_allclose(np.asarray(fast.apply(params, graph)),
                             np.asarray(general.apply(params, graph)), rtol=1e-5, atol=1e-6)


def test_bce_is_eq_9_over_real_edges():
  logits = jnp.array([2.0, -1.0, 0.5, 3.0])
  targets = jnp.array([1.0, 0.0, 0.3, 1.0])   # a soft target too
  mask = jnp.array([True, True, True, False])
  p = 1 / (1 + np.exp(-np.asarray(logits[:3])))
  t = np.asarray(targets[:3])
  expected_sum = -np.sum(t * np.log(p) + (1 - t) * np.log(1 - p))
  np.testing.assert_allclose(bce_loss(logits, targets, mask, "sum"), expected_sum, rtol=1e-6)
  np.testing.assert_allclose(bce_loss(logits, targets, mask), expected_sum / 3, rtol=1e-6)


def test_prediction_is_best_candidate_and_missing_true_class_is_wrong():
  graph, labels = _problem(n=12, c=6, seed=2)
  kk = graph.num_candidates
  logits = jnp.asarray(np.random.default_rng(0).normal(size=12 * kk), jnp.float32)
  pred = np.asarray(predict_classes(logits, graph))
  cands = np.asarray(graph.inter.receivers).reshape(12, kk)
  np.testing.assert_array_equal(pred, cands[np.arange(12), np.argmax(np.asarray(logits).reshape(12, kk), 1)])
  metrics = classification_metrics(logits, graph, jnp.asarray(labels))
  in_candidates = (cands == labels[:, None]).any(1)
  np.testing.assert_allclose(metrics["candidate_recall"], in_candidates.mean())
  assert float(metrics["accuracy"]) <= float(metrics["candidate_recall"]) + 1e-7
  np.testing.assert_allclose(metrics["accuracy"], (pred == labels).mean())


def train_on_problem(dtype=None, steps=150):
  """Adam on a small separable problem; returns (params, opt_state, losses).
  Shared with the mixed-precision tests."""
  graph, _ = _problem(n=60, c=6, seed=3)
  model = RRNet(latent=16, hidden=16, units="intra,inter", dtype=dtype)
  params = model.init(jax.random.key(3), graph)
  tx = optax.adam(1e-2)
  opt = tx.init(params)

  @jax.jit
  def step(params, opt):
    loss, grads = jax.value_and_grad(
        lambda p: bce_loss(model.apply(p, graph), graph.inter_targets, graph.inter_mask))(params)
    updates, opt = tx.update(grads, opt, params)
    return optax.apply_updates(params, updates), opt, loss

  losses = []
  for _ in range(steps):
    params, opt, loss = step(params, opt)
    losses.append(float(loss))
  return params, opt, losses


def test_rrnet_learns_a_separable_mapping():
  _, _, losses = train_on_problem()
  assert losses[-1] < 0.3 * losses[0]
  assert np.isfinite(losses[-1])


def test_parse_units():
  assert parse_units("intra, inter,inter") == ("intra", "inter", "inter")
  with pytest.raises(ValueError, match="units"):
    parse_units("intra,outer")


@pytest.mark.parametrize("reduction", ["mean", "max"])
def test_jraph_padding_leaves_gcn_unit_outputs_unchanged(reduction):
  import jraph
  import xmjax.nn as xnn
  rng = np.random.default_rng(5)
  nodes = jnp.asarray(rng.normal(size=(23, 4)), jnp.float32)
  senders, receivers = G.knn_graph(nodes, 3)
  graph = G.graphs_tuple(nodes, senders, receivers,
                         jnp.asarray(rng.normal(size=(69, 2)), jnp.float32))
  padded = G.pad_graphs_tuple(graph, node_multiple=16, edge_multiple=32)
  assert padded.nodes.shape[0] == 32 and padded.edges.shape[0] == 96
  unit = xnn.IntraGCNUnit(features=(8, 8), aggregation=reduction)
  params = unit.init(jax.random.key(0), graph)
  out, padded_out = unit.apply(params, graph), unit.apply(params, padded)
  node_mask = np.asarray(jraph.get_node_padding_mask(padded))
  edge_mask = np.asarray(jraph.get_edge_padding_mask(padded))
  np.testing.assert_allclose(np.asarray(padded_out.nodes)[node_mask], np.asarray(out.nodes),
                             rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(np.asarray(padded_out.edges)[edge_mask], np.asarray(out.edges),
                             rtol=1e-5, atol=1e-6)


def _np_mlp(params, x, activate_final=True):
  n = len(params)
  for i in range(n):
    x = x @ np.asarray(params[f"dense_{i}"]["kernel"]) + np.asarray(params[f"dense_{i}"]["bias"])
    if i < n - 1 or activate_final:
      x = np.maximum(x, 0.0)
  return x


def _np_dense(params, x):
  return x @ np.asarray(params["kernel"]) + np.asarray(params["bias"])


def _np_node_layer(params, v, e, senders, receivers):
  """Eq. 8 node by node: the mean of every edge a node sends or receives."""
  out = []
  for node in range(len(v)):
    incident = [e[i] for i in range(len(senders)) if senders[i] == node]
    incident += [e[i] for i in range(len(receivers)) if receivers[i] == node]
    agg = np.mean(incident, axis=0) if incident else np.zeros(e.shape[1])
    out.append(_np_mlp(params["mlp"], np.concatenate([agg, v[node]])))
  return np.array(out)


def rrnet_reference(params, graph, units):
  """RR-Net written out from the paper's equations, edge by edge and node by
  node, over the union intra graph (modality-2 node ids after modality 1's)
  and the inter graph; node states flow from each unit to the next."""
  p = jax.tree.map(np.asarray, params)
  g = jax.tree.map(np.asarray, graph)
  n1 = len(g.nodes1)

  def edge_init(name, src, dst, edges):     # eq. 1 on [v_s || v_r]
    rows = [np.concatenate([src[s], dst[r]]) for s, r in zip(edges.senders, edges.receivers)]
    return _np_mlp(p[f"{name}_rest"], np.maximum(_np_dense(p[f"{name}_first"], np.array(rows)), 0))

  v = np.concatenate([_np_mlp(p["encode_nodes1"], g.nodes1), _np_mlp(p["encode_nodes2"], g.nodes2)])
  intra_s = np.concatenate([g.intra1.senders, g.intra2.senders + n1])
  intra_r = np.concatenate([g.intra1.receivers, g.intra2.receivers + n1])
  intra_e = np.concatenate([edge_init("encode_intra1", g.nodes1, g.nodes1, g.intra1),
                            edge_init("encode_intra2", g.nodes2, g.nodes2, g.intra2)])
  inter_s, inter_r = g.inter.senders, g.inter.receivers + n1
  inter_e = edge_init("encode_inter", g.nodes1, g.nodes2, g.inter)
  for i, kind in enumerate(units):
    unit = p[f"unit{i}_{kind}"]
    if kind == "intra":                       # eq. 3-5, then eq. 8
      rows = [np.concatenate([v[s], v[r], e]) for s, r, e in zip(intra_s, intra_r, intra_e)]
      hidden = np.maximum(_np_dense(unit["edge"]["first"], np.array(rows)), 0)
      intra_e = _np_mlp(unit["edge"]["rest"], hidden)
      v = _np_node_layer(unit["node"], v, intra_e, intra_s, intra_r)
    else:                                     # eq. 6-7, then eq. 8
      product = unit["edge"].get("W_product", {}).get("kernel")   # rrnet.inter_product
      rows = [np.concatenate([np.concatenate([v[s], v[r]]) @ unit["edge"]["W"]["kernel"]
                              + (0 if product is None else (v[s] * v[r]) @ product), e])
              for s, r, e in zip(inter_s, inter_r, inter_e)]
      inter_e = _np_mlp(unit["edge"]["mlp"], np.array(rows))
      v = _np_node_layer(unit["node"], v, inter_e, inter_s, inter_r)
  return _np_mlp(p["decoder"], inter_e, activate_final=False)[:, 0]   # eq. 2


@pytest.mark.parametrize("units,inter_product", [("intra,inter,intra,inter,inter", False),
                                                  ("inter,intra,inter", False),
                                                  ("intra,inter,inter", True)])
def test_whole_model_equals_the_equations_written_out(units, inter_product):
  """Every parameter perturbed (init's zero biases would hide a bias applied
  twice or dropped), on a builder graph and on the same graph with its
  edges shuffled (the general path)."""
  graph, _ = _problem(n=9, c=4, seed=5)
  model = RRNet(latent=5, hidden=7, units=units, inter_product=inter_product)
  params = model.init(jax.random.key(0), graph)["params"]
  leaves, treedef = jax.tree.flatten(params)
  keys = jax.random.split(jax.random.key(1), len(leaves))
  params = jax.tree.unflatten(treedef, [x + 0.3 * jax.random.normal(k, x.shape)
                                        for k, x in zip(keys, leaves)])
  inter_units = [f"unit{i}_inter" for i, kind in enumerate(parse_units(units)) if kind == "inter"]
  assert all(("W_product" in params[u]["edge"]) == inter_product for u in inter_units)
  expected = rrnet_reference(params, graph, parse_units(units))
  got = model.apply({"params": params}, graph)
  np.testing.assert_allclose(np.asarray(got), expected, rtol=2e-4, atol=2e-5)
  assert np.std(expected) > 0.05 and len(np.unique(np.round(expected, 4))) > len(expected) // 2
  order = np.random.default_rng(0).permutation(len(graph.intra1.senders))
  with pytest.raises(ValueError, match="declare out_degree"):   # stale metadata is refused
    model.apply({"params": params}, graph._replace(
        intra1=jax.tree.map(lambda x: x[order], graph.intra1)))
  shuffled = graph._replace(intra1=G.EdgeSet(graph.intra1.senders[order],
                                             graph.intra1.receivers[order]))
  np.testing.assert_allclose(np.asarray(model.apply({"params": params}, shuffled)),
                             rrnet_reference(params, shuffled, parse_units(units)),
                             rtol=2e-4, atol=2e-5)


# ---------------------------------------------------------------------------
# The ablations' pieces (xmjax.train.rrnet_ablations)


def test_without_the_instance_graph_an_instance_hears_no_other_instance():
  """The no_instance_graph ablation: with self-loops for the kNN edges, an
  instance's candidate logits after "intra,inter" do not move when another
  instance's features do; with the kNN edges they do (its neighbour)."""
  from xmjax.train.rrnet_ablations import self_loops
  graph, _ = _problem(seed=2)
  loops = graph._replace(intra1=self_loops(graph.intra1, graph.nodes1.shape[0]))
  assert (loops.intra1.senders == loops.intra1.receivers).all()
  assert loops.intra1.senders.shape == graph.intra1.senders.shape
  model = RRNet(latent=8, hidden=8, units="intra,inter")
  params = model.init(jax.random.key(0), graph)
  kk = graph.num_candidates
  i = 0
  j = int(graph.intra1.receivers[graph.intra1.senders == i][0])   # a kNN neighbour of i
  moved = lambda g: g._replace(nodes1=g.nodes1.at[j].add(3.0))
  for g, should_move in ((graph, True), (loops, False)):
    before = model.apply(params, g)[i * kk:(i + 1) * kk]
    after = model.apply(params, moved(g))[i * kk:(i + 1) * kk]
    assert bool(jnp.abs(after - before).max() > 1e-4) == should_move


def test_candidate_mlp_is_an_mlp_on_the_concatenated_candidate():
  """The graph-free re-ranker: every parameter random, one logit per inter
  edge equal to a NumPy MLP on [instance || label || score]; its parameter
  count is the one `width_for` matches to RR-Net's."""
  from xmjax.models import CandidateMLP
  from xmjax.train.rrnet_ablations import edge_scores
  graph, _ = _problem(seed=3)
  probs = np.random.default_rng(0).random((37, 6)).astype(np.float32)
  padded = G.pad_cross_modal_graph(graph, 40, 7)
  scores = edge_scores(padded, probs)
  e = graph.inter.senders.shape[0]
  np.testing.assert_array_equal(scores[:e], probs[graph.inter.senders, graph.inter.receivers])
  assert (scores[e:] == 0).all()
  model = CandidateMLP(width=7, depth=2)
  params = model.init(jax.random.key(0), padded, scores)
  params = jax.tree.map(lambda p: jax.random.normal(jax.random.key(p.size), p.shape), params)
  count = sum(p.size for p in jax.tree.leaves(params))
  assert count == CandidateMLP.num_params(7, 2, 9, 5)
  assert CandidateMLP.width_for(count, 2, 9, 5) == 7
  p = jax.tree.map(np.asarray, params["params"])
  x = np.concatenate([np.asarray(padded.nodes1)[padded.inter.senders],
                      np.asarray(padded.nodes2)[padded.inter.receivers],
                      np.asarray(scores)[:, None]], axis=1)
  h = np.maximum(x @ p["first"]["kernel"] + p["first"]["bias"], 0)
  h = np.maximum(h @ p["rest"]["dense_0"]["kernel"] + p["rest"]["dense_0"]["bias"], 0)
  expected = (h @ p["rest"]["dense_1"]["kernel"] + p["rest"]["dense_1"]["bias"])[:, 0]
  np.testing.assert_allclose(model.apply(params, padded, scores), expected, rtol=2e-4, atol=2e-4)


def test_every_ablation_stage_removes_what_it_names():
  """The four ablation stages on one graph, without training: inter_only has
  no intra unit, the self-loop ones replace exactly their edge set, the
  re-ranker gets the baseline's candidate scores and about RR-Net's size."""
  from xmjax.configs import schemas
  from xmjax.models import CandidateMLP
  from xmjax.train.rrnet_ablations import ABLATIONS, ablation_stage
  config = schemas.schema("rrnet_classification")
  config.rrnet.latent = config.rrnet.hidden = 8
  graph, labels = _problem(seed=4)
  graphs = {"train": (graph, jnp.asarray(labels))}
  probs = {"train": np.random.default_rng(0).random((37, 6)).astype(np.float32)}
  sizes = {}
  for name in ABLATIONS:
    stage, inputs = ablation_stage(name, config, graphs, probs)
    assert stage.name == ABLATIONS[name].prefix
    ablated = inputs["train"][0]
    params = stage.init().params
    sizes[name] = sum(p.size for p in jax.tree.leaves(params))
    loops = lambda es: bool((es.senders == es.receivers).all())
    assert loops(ablated.intra1) == (name == "no_instance_graph")
    assert loops(ablated.intra2) == (name == "no_label_graph")
    if name == "inter_only":
      assert not any("intra" in unit for unit in params if unit.startswith("unit"))
    if name == "mlp_reranker":
      np.testing.assert_array_equal(inputs["train"][2],
                                    probs["train"][graph.inter.senders, graph.inter.receivers])
  rrnet_size = sizes["no_label_graph"]         # RR-Net's own parameters
  width = CandidateMLP.width_for(rrnet_size, 2, 9, 5)
  assert sizes["mlp_reranker"] == CandidateMLP.num_params(width, 2, 9, 5)
