"""`--config.dtype=bfloat16`: compute in bfloat16, parameters, optimizer
state, losses and aggregation accumulators in float32; training still works
and stays close to float32."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from test_rrnet_model import train_on_problem
from xmjax.data.scenes import scenes_split
from xmjax.data.text import NUM_POS
from xmjax.models.cnn import make_baseline
from xmjax.models.racg import RACG
from xmjax.nn.aggregation import aggregate_edges
from xmjax.configs import schemas
from xmjax.train import optim
from xmjax.train.baseline import baseline_train_step
from xmjax.train.state import create_train_state


def dtypes(tree):
  return {x.dtype for x in jax.tree.leaves(tree)}


def test_rrnet_in_bfloat16_trains_like_float32():
  params16, opt16, losses16 = train_on_problem(jnp.bfloat16)
  _, _, losses32 = train_on_problem(jnp.float32)
  assert dtypes(params16) == {jnp.dtype(jnp.float32)}
  assert dtypes(opt16) <= {jnp.dtype(jnp.float32), jnp.dtype(jnp.int32)}
  assert np.isfinite(losses16).all() and losses16[-1] < 0.3 * losses16[0]
  assert abs(losses16[-1] - losses32[-1]) < 0.05, (losses16[-1], losses32[-1])


def test_aggregation_accumulates_in_float32():
  # 4096 bf16 ones summed onto one node: exact in float32, not in bfloat16 (8-bit mantissa).
  edges = jnp.full((4096, 2), 1.0 + 2 ** -7, jnp.bfloat16)
  zeros = jnp.zeros(4096, jnp.int32)
  total = aggregate_edges(edges, zeros, zeros, 1, "sum")
  assert total.dtype == jnp.float32
  np.testing.assert_allclose(total[0], 2 * 4096 * (1 + 2 ** -7), rtol=1e-6)


def test_resnet_baseline_step_in_bfloat16_stays_close():
  rng = np.random.default_rng(0)
  images = jnp.asarray(rng.integers(0, 256, (32, 32, 32, 3)), jnp.uint8)
  labels = jnp.asarray(rng.integers(0, 10, 32), jnp.int32)
  stats = (jnp.full((3,), 120.0), jnp.full((3,), 60.0))
  losses = {}
  for dtype in (jnp.float32, jnp.bfloat16):
    model = make_baseline("resnet18", 10, dtype, width=0.0625)
    variables = model.init(jax.random.key(0), jnp.zeros((1, 32, 32, 3)))
    state = create_train_state(model.apply, variables["params"],
                               optim.make_optimizer(schemas.optimizer_config(learning_rate=0.05), 10),
                               variables["batch_stats"])
    step = jax.jit(functools.partial(baseline_train_step, crop_padding=4, flip=True))
    history = []
    for i in range(4):
      state, metrics = step(state, images, labels, jax.random.key(1), stats,
                            jnp.arange(16) + 16 * (i % 2))
      history.append(float(metrics["loss"]))
    assert dtypes(state.params) == dtypes(state.batch_stats) == {jnp.dtype(jnp.float32)}
    losses[dtype] = history
  np.testing.assert_allclose(losses[jnp.bfloat16], losses[jnp.float32], atol=0.1)


def test_racg_scores_in_bfloat16_are_close_to_float32():
  images, captions, vocab = scenes_split(4, feature_dim=16, seed=3)
  c = captions.take(np.arange(0, 40, 5))
  i = images.take(c.image_index)
  args = (i.regions, i.boxes, i.region_mask, c.tokens, c.pos, c.heads, c.lengths, c.link_mask())
  kwargs = dict(vocab_size=len(vocab), num_pos=NUM_POS, joint_dim=32, position_dim=8,
                word_dim=16, pos_dim=4, num_heads=4, image_block=4)
  variables = RACG(**kwargs).init(jax.random.key(0), *args)
  s32 = RACG(**kwargs).apply(variables, *args)
  s16 = RACG(dtype=jnp.bfloat16, **kwargs).apply(variables, *args)
  assert s16.dtype == jnp.float32
  np.testing.assert_allclose(s16, s32, atol=0.05)
  assert np.corrcoef(np.ravel(s16), np.ravel(s32))[0, 1] > 0.95


# --------------------------------------------------------------------------
# One dtype convention over xmjax.nn (flax's): `dtype` is the computation
# dtype (None: the inputs' and parameters' promoted dtype), `param_dtype`
# the parameters' dtype.

def _dot_operand_dtypes(jaxpr) -> set:
  """The operand dtypes of every matrix product in a jaxpr, sub-programs
  (scan, while, remat, jit) included."""
  found = set()
  for eqn in jaxpr.eqns:
    if eqn.primitive.name == "dot_general":
      found.add(tuple(str(v.aval.dtype) for v in eqn.invars))
    for value in eqn.params.values():
      for sub in value if isinstance(value, (tuple, list)) else (value,):
        if isinstance(sub, jax.extend.core.ClosedJaxpr):
          found |= _dot_operand_dtypes(sub.jaxpr)
        elif isinstance(sub, jax.extend.core.Jaxpr):
          found |= _dot_operand_dtypes(sub)
  return found


def _nn_cases():
  import jraph
  from xmjax import nn as xnn
  rng = np.random.default_rng(0)
  bf16 = lambda *shape: jnp.asarray(rng.normal(size=shape), jnp.bfloat16)
  senders, receivers = jnp.array([0, 0, 1, 2, 3, 3]), jnp.array([1, 2, 0, 3, 1, 2])
  graph = jraph.GraphsTuple(nodes=bf16(4, 5), edges=bf16(6, 3), senders=senders,
                            receivers=receivers, n_node=jnp.array([4]), n_edge=jnp.array([6]),
                            globals=None)
  no_edges = graph._replace(edges=None)
  sparse = xnn.SparseRows.from_coo(np.array([0, 1, 3]), np.array([2, 0, 4]),
                                   np.ones(3, np.float32), (4, 5))
  sparse = sparse.replace(values=sparse.values.astype(jnp.bfloat16))
  return {
      "MLP": (lambda **kw: xnn.MLP((8, 4), layer_norm=True, **kw), (bf16(4, 5),)),
      "EdgeConcatDense": (lambda **kw: xnn.EdgeConcatDense(7, **kw),
                          (bf16(4, 5), bf16(3, 2), senders, jnp.array([0, 1, 2, 0, 1, 2]),
                           bf16(6, 3))),
      "IntraEdgeLayer": (lambda **kw: xnn.IntraEdgeLayer((6, 4), layer_norm=True, **kw), (graph,)),
      "InterEdgeLayer": (lambda **kw: xnn.InterEdgeLayer((6, 4), product=True, **kw), (graph,)),
      "NodeLayer": (lambda **kw: xnn.NodeLayer((6, 4), **kw), (graph,)),
      "IntraGCNUnit": (lambda **kw: xnn.IntraGCNUnit((6, 4), **kw), (graph,)),
      "InterGCNUnit": (lambda **kw: xnn.InterGCNUnit((6, 5), product=True, **kw), (no_edges,)),
      "ChunkedInterGCNUnit": (lambda **kw: xnn.ChunkedInterGCNUnit((6, 5), num_chunks=2, **kw),
                              (no_edges,)),
      "HeadTail": (lambda **kw: xnn.HeadTail(6, **kw), (bf16(4, 5),)),
      "RelationNetwork": (lambda **kw: xnn.RelationNetwork(8, block_size=2, **kw),
                          (bf16(4, 5), bf16(3, 5))),
      "SparseDense": (lambda **kw: xnn.SparseDense(6, **kw), (sparse,)),
  }


@pytest.mark.parametrize("name", sorted(_nn_cases()))
def test_every_nn_module_follows_flaxs_dtype_convention(name):
  make, inputs = _nn_cases()[name]
  f32, bf16 = jnp.dtype(jnp.float32), jnp.dtype(jnp.bfloat16)
  # float32 parameters, bfloat16 inputs, dtype=None: promoted, every product in float32.
  module = make()
  params = module.init(jax.random.key(0), *inputs)
  assert dtypes(params) == {f32}
  assert _dot_operand_dtypes(jax.make_jaxpr(module.apply)(params, *inputs).jaxpr) <= {
      ("float32", "float32")}
  # dtype=bfloat16: every product in bfloat16, the parameters still float32.
  module = make(dtype=jnp.bfloat16)
  params = module.init(jax.random.key(0), *inputs)
  assert dtypes(params) == {f32}
  products = _dot_operand_dtypes(jax.make_jaxpr(module.apply)(params, *inputs).jaxpr)
  if name == "SparseDense":   # segment sums, no matrix product: its output says the dtype
    assert products == set() and module.apply(params, *inputs).dtype == bf16
  else:
    assert products == {("bfloat16", "bfloat16")}
  # param_dtype=bfloat16: the parameters are created in it.
  module = make(param_dtype=jnp.bfloat16)
  assert dtypes(module.init(jax.random.key(0), *inputs)) == {bf16}
