"""Reusing the layers on a user's own graph never gives a silently wrong answer."""

import jax
import jax.numpy as jnp
import jraph
import numpy as np
import pytest

from conftest import random_classification_graph
from xmjax.graph.cross_modal import CrossModalGraph, EdgeSet
from xmjax.models import RRNet
from xmjax.nn import (InterGCNUnit, IntraGCNUnit, NodeLayer, RelationNetwork, aggregate_edges,
                      default_sorted_segments, gather_senders)


def given_relations_graph():
  """A small graph with given relations: 3 modality-1 nodes (intra-1
  senders [0, 0, 1], receivers [1, 2, 2]), 2 inter edges per node."""
  rng = np.random.default_rng(0)
  return CrossModalGraph(
      nodes1=jnp.asarray(rng.normal(size=(3, 4)), jnp.float32),
      nodes2=jnp.asarray(rng.normal(size=(2, 3)), jnp.float32),
      intra1=EdgeSet(jnp.array([0, 0, 1]), jnp.array([1, 2, 2])),
      intra2=EdgeSet(jnp.array([0, 1]), jnp.array([1, 0])),
      inter=EdgeSet(jnp.array([0, 0, 1, 1, 2, 2]), jnp.array([0, 1, 0, 1, 0, 1])),
      inter_targets=jnp.zeros(6), inter_mask=jnp.ones(6, bool), node1_mask=jnp.ones(3, bool))


def test_rrnet_default_on_a_graph_without_fixed_degree_is_the_general_path():
  graph = given_relations_graph()
  params = RRNet().init(jax.random.key(0), graph)
  general = RRNet(fixed_degree=False).apply(params, graph)
  np.testing.assert_array_equal(RRNet().apply(params, graph), general)
  np.testing.assert_array_equal(jax.jit(RRNet().apply)(params, graph), general)
  with pytest.raises(ValueError, match="does not match the graph"):
    RRNet(fixed_degree=True).apply(params, graph)


def test_rrnet_default_uses_the_fast_path_only_where_it_is_exact():
  graph = random_classification_graph(1, 20, 5, 4, 3, k1=3, k2=1, candidates=2)
  params = RRNet().init(jax.random.key(0), graph)
  fast = RRNet(fixed_degree=True).apply(params, graph)
  np.testing.assert_allclose(RRNet().apply(params, graph), fast, rtol=0, atol=0)
  np.testing.assert_allclose(RRNet(fixed_degree=False).apply(params, graph), fast, atol=1e-5)


def jraph_batch_unsorted():
  """Two jraph graphs of 32 nodes, each node sending 2 edges, batched, then
  the edges shuffled (jraph does not sort them)."""
  rng = np.random.default_rng(2)
  graphs = []
  for _ in range(2):
    senders = np.repeat(np.arange(32), 2)
    receivers = rng.integers(0, 32, 64)
    graphs.append(jraph.GraphsTuple(
        nodes=jnp.asarray(rng.normal(size=(32, 4)), jnp.float32),
        edges=jnp.asarray(rng.normal(size=(64, 3)), jnp.float32),
        senders=jnp.asarray(senders), receivers=jnp.asarray(receivers),
        n_node=jnp.array([32]), n_edge=jnp.array([64]), globals=None))
  batch = jraph.batch(graphs)
  order = rng.permutation(128)
  return batch._replace(edges=batch.edges[order], senders=batch.senders[order],
                        receivers=batch.receivers[order])


def test_a_sender_layout_that_does_not_match_the_graph_is_an_error():
  graph = jraph_batch_unsorted()
  general = NodeLayer(sender_layout=None)
  params = general.init(jax.random.key(0), graph)
  with pytest.raises(ValueError, match="sender_layout"):
    NodeLayer(sender_layout=((32, 2),)).apply(params, graph)     # covers 32 of 64 nodes
  with pytest.raises(ValueError, match="edge 0 is sent by node"):
    NodeLayer(sender_layout=((64, 2),)).apply(params, graph)     # right counts, unsorted


def _sorted_batch():
  graph = jraph_batch_unsorted()
  order = np.argsort(np.asarray(graph.senders), kind="stable")
  return graph._replace(edges=graph.edges[order], senders=graph.senders[order],
                        receivers=graph.receivers[order])


def test_under_jit_a_wrong_sender_layout_gives_nan_never_a_plausible_answer():
  graph = jraph_batch_unsorted()
  params = NodeLayer().init(jax.random.key(0), graph)
  apply = lambda layout: jax.jit(NodeLayer(sender_layout=layout).apply)
  out = apply(((64, 2),))(params, graph)          # right counts, unsorted: values checked on device
  assert np.isnan(np.asarray(out.nodes)).all()
  with pytest.raises(ValueError, match="describes 32 nodes"):   # wrong sizes: at trace time
    apply(((32, 2),))(params, graph)
  ordered = _sorted_batch()
  np.testing.assert_allclose(apply(((64, 2),))(params, ordered).nodes,
                             NodeLayer().apply(params, ordered).nodes, rtol=1e-6, atol=1e-6)
  for reduction in ("mean", "sum", "max"):
    wrong = jax.jit(lambda e, s, r: aggregate_edges(e, s, r, 64, reduction, ((64, 2),)))(
        graph.edges, graph.senders, graph.receivers)
    assert np.isnan(np.asarray(wrong)).all(), reduction


def test_jitted_rrnet_asserting_fixed_degree_on_given_relations_is_nan():
  graph = given_relations_graph()     # edge counts match a fixed layout, the senders do not
  params = RRNet().init(jax.random.key(0), graph)
  logits = jax.jit(RRNet(fixed_degree=True).apply)(params, graph)
  assert np.isnan(np.asarray(logits)).all()
  np.testing.assert_allclose(jax.jit(RRNet().apply)(params, graph),
                             RRNet(fixed_degree=False).apply(params, graph), rtol=1e-6, atol=1e-6)


def _scatter_adds(fn, *args) -> int:
  return str(jax.make_jaxpr(fn)(*args)).count("scatter-add")


def test_builder_graphs_keep_their_layout_under_jit():
  """The builders' out_degree metadata is static: under jit (traced senders)
  RRNet still takes the scatter-free path for sent edges, exactly."""
  graph = random_classification_graph(1, 20, 5, 4, 3, k1=3, k2=1, candidates=2)
  assert (graph.intra1.out_degree, graph.intra2.out_degree, graph.inter.out_degree) == (3, 1, 2)
  traced = jax.jit(lambda g: g)(graph)
  assert traced.inter.out_degree == 2
  params = RRNet().init(jax.random.key(0), graph)
  fast, general = RRNet().apply, RRNet(fixed_degree=False).apply
  assert _scatter_adds(fast, params, graph) < _scatter_adds(general, params, graph)
  np.testing.assert_allclose(jax.jit(fast)(params, graph), general(params, graph), atol=1e-5)
  np.testing.assert_allclose(jax.jit(fast)(params, graph), fast(params, graph), atol=1e-5)


def test_sender_rows_repeated_by_a_layout_are_the_gather_with_no_gather_or_scatter():
  """gather_senders with a fixed out-degree layout (a zero-degree block
  included): the gather's values exactly, its gradient within round-off,
  and neither a gather nor a scatter in the program or its gradient. A
  wrong layout: ValueError on concrete senders, NaN rows under jit."""
  rng = np.random.default_rng(5)
  layout = ((3, 2), (2, 0), (4, 3))
  senders = jnp.asarray(np.concatenate([np.repeat(np.arange(3), 2),
                                        np.repeat(np.arange(5, 9), 3)]), jnp.int32)
  values = jnp.asarray(rng.normal(size=(9, 4)), jnp.float32)
  weights = jnp.asarray(rng.normal(size=(18, 4)), jnp.float32)
  np.testing.assert_array_equal(gather_senders(values, senders, layout), values[senders])
  loss = lambda layout: lambda v, s: (gather_senders(v, s, layout) * weights).sum()
  np.testing.assert_allclose(jax.grad(loss(layout))(values, senders),
                             jax.grad(loss(None))(values, senders), rtol=1e-6, atol=1e-6)
  program = str(jax.make_jaxpr(jax.grad(loss(layout)))(values, senders))
  assert "gather" not in program and "scatter" not in program
  assert "scatter-add" in str(jax.make_jaxpr(jax.grad(loss(None)))(values, senders))
  shuffled = senders[::-1]
  with pytest.raises(ValueError, match="edge 0 is sent by node 8"):
    gather_senders(values, shuffled, layout)
  assert np.isnan(np.asarray(jax.jit(lambda s: gather_senders(values, s, layout))(shuffled))).all()
  with pytest.raises(ValueError, match="describes 9 nodes"):
    gather_senders(values[:8], senders, layout)


def test_rrnet_repeating_sender_rows_keeps_logits_and_gradients():
  """RRNet(repeat_sender_rows=True) on a builder graph, under jit: the
  default's logits exactly, its parameter gradients within round-off
  (with and without the inter product term), and fewer gathers and
  scatter-adds in the gradient's program."""
  from xmjax.models import bce_loss
  graph = random_classification_graph(2, 40, 6, 5, 4, k1=4, k2=2, candidates=3)
  for product in (False, True):
    gathered = RRNet(inter_product=product)
    repeated = gathered.clone(repeat_sender_rows=True)
    params = gathered.init(jax.random.key(0), graph)
    np.testing.assert_array_equal(jax.jit(repeated.apply)(params, graph),
                                  jax.jit(gathered.apply)(params, graph))
    grad = lambda model: jax.grad(lambda p, g: bce_loss(model.apply(p, g), g.inter_targets,
                                                         g.inter_mask))
    for a, b in zip(jax.tree.leaves(jax.jit(grad(repeated))(params, graph)),
                    jax.tree.leaves(jax.jit(grad(gathered))(params, graph))):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    programs = [str(jax.make_jaxpr(grad(m))(params, graph)) for m in (repeated, gathered)]
    for op in (" gather[", "scatter-add"):
      assert programs[0].count(op) < programs[1].count(op), (product, op)


def test_sorted_segment_sums_of_a_layout_equal_the_reshape():
  """aggregate_edges(sorted_segments=True) against the reshape path, every
  reduction, a zero-degree block included; under jit a wrong layout is NaN
  either way; RRNet(sorted_segments=True) keeps the default's logits."""
  rng = np.random.default_rng(6)
  layout = ((4, 2), (2, 0), (3, 3))
  senders = jnp.asarray(np.concatenate([np.repeat(np.arange(4), 2),
                                        np.repeat(np.arange(6, 9), 3)]), jnp.int32)
  receivers = jnp.asarray(rng.integers(0, 9, 17), jnp.int32)
  edges = jnp.asarray(rng.normal(size=(17, 4)), jnp.float32)
  for reduction in ("mean", "sum", "max"):
    reshaped = aggregate_edges(edges, senders, receivers, 9, reduction, layout)
    segments = aggregate_edges(edges, senders, receivers, 9, reduction, layout,
                               sorted_segments=True)
    np.testing.assert_allclose(segments, reshaped, rtol=1e-6, atol=1e-6)
    wrong = jax.jit(lambda s: aggregate_edges(edges, s, receivers, 9, reduction, layout,
                                              sorted_segments=True))(senders[::-1])
    assert np.isnan(np.asarray(wrong)).all(), reduction
  graph = random_classification_graph(6, 30, 6, 4, 3, k1=3, k2=1, candidates=2)
  params = RRNet().init(jax.random.key(0), graph)
  np.testing.assert_allclose(jax.jit(RRNet(sorted_segments=True).apply)(params, graph),
                             jax.jit(RRNet().apply)(params, graph), rtol=1e-5, atol=1e-6)
  # The default follows the backend: sorted on TPUs only, so on this CPU it
  # is the reshape, bit for bit.
  assert [default_sorted_segments(p) for p in ("tpu", "gpu", "cpu")] == [True, False, False]
  assert default_sorted_segments() is (jax.default_backend() == "tpu")
  np.testing.assert_array_equal(jax.jit(RRNet().apply)(params, graph),
                                jax.jit(RRNet(sorted_segments=False).apply)(params, graph))


def test_an_edge_sets_out_degree_is_checked_when_it_is_made():
  EdgeSet(jnp.array([0, 0, 1, 1]), jnp.array([1, 2, 0, 2]), 2)
  with pytest.raises(ValueError, match="edge 1 is sent by node 1, not 0"):
    EdgeSet(jnp.array([0, 1, 0, 1]), jnp.array([1, 2, 0, 2]), 2)
  with pytest.raises(ValueError, match="does not divide the 3 edges"):
    EdgeSet(jnp.array([0, 0, 1]), jnp.array([1, 2, 0]), 2)
  edges = EdgeSet(jnp.array([0, 0, 1, 1]), jnp.array([1, 2, 0, 2]), 2)
  with pytest.raises(ValueError, match="out_degree=2 promises"):
    edges._replace(senders=jnp.array([1, 1, 0, 0]))
  assert edges._replace(senders=jnp.array([1, 1, 0, 0]), out_degree=None).out_degree is None


def test_received_only_aggregation_is_jraphs_convention():
  edges = jnp.arange(8.0).reshape(4, 2)
  senders, receivers = jnp.array([0, 0, 1, 3]), jnp.array([1, 2, 2, 0])
  received = aggregate_edges(edges, senders, receivers, 4, "mean", incident="received")
  expected = np.stack([edges[3], edges[0], (edges[1] + edges[2]) / 2, np.zeros(2)])
  np.testing.assert_allclose(received, expected)
  both = aggregate_edges(edges, senders, receivers, 4, "sum")
  np.testing.assert_allclose(both[3], edges[3])                 # node 3 only sends
  assert float(aggregate_edges(edges, senders, receivers, 4, "sum", incident="received")[3, 0]) == 0


def test_inter_unit_accepts_a_graph_without_edge_features():
  graph = jraph_batch_unsorted()._replace(edges=None)
  for unit in (IntraGCNUnit(features=(8, 8)), InterGCNUnit(features=(8, 8))):
    out = unit.apply(unit.init(jax.random.key(0), graph), graph)
    assert out.nodes.shape == (64, 8) and out.edges.shape == (128, 8)


def test_relation_network_on_batched_sets_says_how_to_vmap():
  net = RelationNetwork(hidden=8)
  a, b = jnp.ones((2, 5, 3)), jnp.ones((2, 4, 3))
  params = net.init(jax.random.key(0), a[0], b[0])
  with pytest.raises(ValueError, match="vmap"):
    net.apply(params, a, b)
  scores = jax.vmap(lambda x, y: net.apply(params, x, y))(a, b)
  assert scores.shape == (2, 5, 4)


def test_eager_calls_of_the_models_compile_once_per_shape():
  """RelationNetwork, DRSL and RACG's public methods called eagerly (a
  notebook, an evaluation loop): the second call with the same shapes
  compiles nothing (their loops live in module-level jitted functions)."""
  from xmjax.data.scenes import scenes_split
  from xmjax.data.text import NUM_POS
  from xmjax.models import DRSL
  from xmjax.models.racg import RACG
  compiles = []
  jax.monitoring.register_event_duration_secs_listener(
      lambda name, *_, **__: compiles.append(name) if "backend_compile" in name else None)

  def second_call_compiles(fn):
    jax.block_until_ready(fn())
    before = len(compiles)
    jax.block_until_ready(fn())
    return len(compiles) - before

  a, b = jnp.ones((20, 6)), jnp.ones((12, 6))
  net = RelationNetwork(hidden=16, block_size=4)
  net_params = net.init(jax.random.key(0), a, b)
  drsl = DRSL(image_layers=(8, 8), text_layers=(8, 8), relation_hidden=16, block_size=4)
  drsl_params = drsl.init(jax.random.key(0), a, b)
  images, captions, vocab = scenes_split(4, feature_dim=16, seed=3)
  c = captions.take(np.arange(6))
  i = images.take(c.image_index)
  image_args = (i.regions, i.boxes, i.region_mask)
  caption_args = (c.tokens, c.pos, c.heads, c.lengths, c.link_mask())
  racg = RACG(vocab_size=len(vocab), num_pos=NUM_POS, joint_dim=32, position_dim=8, word_dim=16,
              pos_dim=4, num_heads=4, image_block=3)
  racg_vars = racg.init(jax.random.key(1), *image_args, *caption_args)
  nodes = (racg.apply(racg_vars, *image_args, method=RACG.encode_images),
           racg.apply(racg_vars, *caption_args, method=RACG.encode_captions))
  calls = {
      "RelationNetwork": lambda: net.apply(net_params, a, b),
      "DRSL": lambda: drsl.apply(drsl_params, a, b),
      "RACG": lambda: racg.apply(racg_vars, *image_args, *caption_args),
      "RACG.encode_captions": lambda: racg.apply(racg_vars, *caption_args,
                                                 method=RACG.encode_captions),
      "RACG.scores": lambda: racg.apply(racg_vars, *nodes, method=RACG.scores),
  }
  counts = {name: second_call_compiles(call) for name, call in calls.items()}
  assert counts == dict.fromkeys(calls, 0), counts


def test_small_reuse_errors_name_what_is_wrong():
  import warnings
  import flax.linen as flax_nn
  from xmjax.models import from_config
  from xmjax.models.sdml import DSAE, sdml_loss
  from xmjax.nn import multi_head_similarity
  k = 4
  weights = (jnp.ones((k, k)), jnp.zeros(k), jnp.ones((k, 1)), jnp.zeros(1))
  with pytest.raises(ValueError, match="node width 10 does not split into 4 heads"):
    multi_head_similarity(jnp.ones((3, 10)), jnp.ones((3, 10)), k, *weights)
  dsae = DSAE(input_dim=6, hidden=(8,), code_dim=4)
  with pytest.raises(ValueError, match="input of width 5 .* input_dim=6"):
    dsae.init(jax.random.key(0), jnp.ones((2, 5)))
  h, x = jnp.ones((3, 4)) / 2, jnp.ones((3, 6))
  projection = jnp.eye(4)[:, :3]
  with pytest.raises(ValueError, match="label 3 is not below the 3 classes"):
    sdml_loss(h, x, x, jnp.array([0, 3, -1]), projection)
  assert np.isnan(jax.jit(sdml_loss)(h, x, x, jnp.array([0, 3, -1]), projection))   # traced: loud
  assert np.isfinite(jax.jit(sdml_loss)(h, x, x, jnp.array([0, 2, -1]), projection))
  with pytest.raises(ValueError, match="'latnet' is not one of its fields; did you mean 'latent'"):
    from_config(RRNet, {"latnet": 32, "num_steps": 10})
  assert from_config(RRNet, {"latent": 32, "num_steps": 10}).latent == 32   # other settings skipped
  graph = random_classification_graph(1, 20, 5, 4, 3, k1=3, k2=1, candidates=2, labeled=False)
  with warnings.catch_warnings():
    warnings.simplefilter("error")
    assert "unit0_intra" in flax_nn.tabulate(RRNet(), jax.random.key(0))(graph)
