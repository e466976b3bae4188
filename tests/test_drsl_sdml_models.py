"""DRSL's relation network and SDML's pieces, against their literal forms."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from xmjax.models import DSAE, drsl_loss, orthogonal_projection, sdml_loss, sdml_loss_terms
from xmjax.nn import RelationNetwork


@pytest.mark.parametrize("fusion", ["concat", "add", "sub", "mul"])
@pytest.mark.parametrize("block_size", [5, 64])
def test_fast_all_pairs_scores_equal_the_naive_form(fusion, block_size):
  a = jax.random.normal(jax.random.key(0), (23, 6))
  b = jax.random.normal(jax.random.key(1), (17, 6))
  net = RelationNetwork(hidden=48, fusion=fusion, block_size=block_size)
  params = net.init(jax.random.key(2), a, b)
  fast, naive = net.apply(params, a, b), net.apply(params, a, b, naive=True)
  assert fast.shape == (23, 17)
  np.testing.assert_allclose(np.asarray(fast), np.asarray(naive), rtol=1e-5, atol=1e-5)
  g_fast = jax.grad(lambda p: net.apply(p, a, b).sum())(params)
  g_naive = jax.grad(lambda p: net.apply(p, a, b, naive=True).sum())(params)
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4), g_fast, g_naive)


@pytest.mark.parametrize("fusion", ["concat", "add", "sub"])
@pytest.mark.parametrize("tile_reduction", ["dot", "fused", "chunked"])
def test_every_tile_reduction_gives_the_naive_scores_and_gradients(fusion, tile_reduction):
  # hidden 37 is no multiple of the chunk (padded with zero-weight units);
  # 23 x 17 items in tiles of 8 pad both sides (evened out for "chunked").
  a = jax.random.normal(jax.random.key(0), (23, 6))
  b = jax.random.normal(jax.random.key(1), (17, 6))
  net = RelationNetwork(hidden=37, fusion=fusion, block_size=8, tile_reduction=tile_reduction)
  params = net.init(jax.random.key(2), a, b)
  weights = jax.random.normal(jax.random.key(3), (23, 17))
  loss = lambda p, x, y, naive: (net.apply(p, x, y, naive=naive) * weights).sum()
  fast, naive = net.apply(params, a, b), net.apply(params, a, b, naive=True)
  np.testing.assert_allclose(np.asarray(fast), np.asarray(naive), rtol=1e-5, atol=1e-5)
  g_fast = jax.jit(jax.grad(loss, argnums=(0, 1, 2)), static_argnums=3)(params, a, b, False)
  g_naive = jax.grad(loss, argnums=(0, 1, 2))(params, a, b, True)
  jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-4, atol=1e-4), g_fast, g_naive)


def test_chunked_reduction_equals_the_dot_tiles_at_paper_width():
  # The paper's hidden 1024 over 300-d embeddings: only the summation order differs.
  a = jax.random.normal(jax.random.key(0), (70, 300))
  b = jax.random.normal(jax.random.key(1), (45, 300))
  dot = RelationNetwork(tile_reduction="dot", block_size=32)
  params = dot.init(jax.random.key(2), a, b)
  chunked = RelationNetwork(tile_reduction="chunked")
  np.testing.assert_allclose(np.asarray(chunked.apply(params, a, b)),
                             np.asarray(dot.apply(params, a, b)), rtol=1e-5, atol=2e-5)


def test_auto_tile_reduction_follows_the_platform_and_fusion():
  from xmjax.nn.relation import default_block_size, resolve_tile_reduction
  assert resolve_tile_reduction("auto", "concat", "cpu") == "chunked"
  assert resolve_tile_reduction("auto", "concat", "tpu") == "dot"
  assert resolve_tile_reduction("auto", "concat", "gpu") == "dot"
  assert resolve_tile_reduction("auto", "mul", "cpu") == "dot"     # no per-item layer to chunk
  assert default_block_size("cpu", "chunked") == 256 and default_block_size("cpu", "dot") == 32
  assert default_block_size("tpu", "chunked") == 128
  a = jnp.ones((3, 4))
  with pytest.raises(ValueError, match="tile_reduction 'chunked' needs.*'mul'"):
    RelationNetwork(hidden=8, fusion="mul", tile_reduction="chunked").init(jax.random.key(0), a, a)
  with pytest.raises(ValueError, match="tile_reduction: unknown 'sum'"):
    RelationNetwork(hidden=8, tile_reduction="sum").init(jax.random.key(0), a, a)


@pytest.mark.parametrize("tile_reduction", ["dot", "chunked"])
def test_fast_scorer_never_allocates_the_pair_by_hidden_tensor(tile_reduction):
  n, hidden = 400, 64
  a = jnp.ones((n, 30))
  net = RelationNetwork(hidden=hidden, block_size=64, tile_reduction=tile_reduction)
  params = net.init(jax.random.key(0), a[:2], a[:2])
  full = n * n * hidden * 4
  def temp_bytes(naive):
    compiled = jax.jit(lambda p, x, y: net.apply(p, x, y, naive=naive)).lower(params, a, a).compile()
    return compiled.memory_analysis().temp_size_in_bytes
  assert temp_bytes(False) < full / 10     # tiles only
  assert temp_bytes(True) >= full          # the literal form does build it


def test_drsl_loss_is_squared_frobenius_distance_to_label_similarity():
  scores = jnp.array([[0.9, 0.2], [0.1, 0.4]])
  image_labels, text_labels = jnp.array([0, 1]), jnp.array([0, 0])
  s = np.array([[1, 1], [0, 0]])
  expected = ((np.asarray(scores) - s) ** 2).sum()
  np.testing.assert_allclose(drsl_loss(scores, image_labels, text_labels), expected, rtol=1e-6)
  np.testing.assert_allclose(drsl_loss(scores, image_labels, text_labels, "mean"), expected / 4,
                             rtol=1e-6)


def test_projection_is_fixed_column_orthonormal():
  p = orthogonal_projection(3, 64, 10)
  assert p.shape == (64, 10) and p.dtype == np.float32
  np.testing.assert_allclose(p.T @ p, np.eye(10), atol=1e-5)
  np.testing.assert_array_equal(p, orthogonal_projection(3, 64, 10))
  assert not np.allclose(p, orthogonal_projection(4, 64, 10))


def test_sdml_loss_uses_norms_and_leaves_unlabelled_rows_out_of_the_supervised_mean():
  p = orthogonal_projection(0, 8, 3)
  h = jnp.asarray(np.random.default_rng(0).normal(size=(3, 8)), jnp.float32)
  x = jnp.ones((3, 4))
  x_hat = jnp.zeros((3, 4))
  labels = jnp.array([0, 2, -1])
  sup = np.linalg.norm(np.asarray(h)[:2] @ p - np.eye(3)[[0, 2]], axis=1)
  # ||1 - 0|| over 4 entries = 2 on every row; the supervised mean over the 2 labelled rows.
  expected = 0.3 * 2.0 + 0.7 * sup.mean()
  np.testing.assert_allclose(sdml_loss(h, x_hat, x, labels, jnp.asarray(p), balance=0.3),
                             expected, rtol=1e-5)
  reconstruction, supervised = sdml_loss_terms(h, x_hat, x, labels, jnp.asarray(p))
  np.testing.assert_allclose([reconstruction, supervised], [2.0, sup.mean()], rtol=1e-5)
  # No labelled row: the supervised term is 0, not NaN.
  assert float(sdml_loss_terms(h, x_hat, x, jnp.array([-1, -1, -1]), jnp.asarray(p))[1]) == 0.0


def test_dsae_decoder_output_is_l2_normalised_unless_switched_off():
  x = jnp.asarray(np.random.default_rng(1).normal(size=(5, 7)) * 30, jnp.float32)
  normalised = DSAE(input_dim=7, hidden=(16, 16), code_dim=8)
  params = normalised.init(jax.random.key(0), x)
  _, x_hat = normalised.apply(params, x)
  np.testing.assert_allclose(np.linalg.norm(np.asarray(x_hat), axis=1), 1.0, rtol=1e-5)
  linear = DSAE(input_dim=7, hidden=(16, 16), code_dim=8, normalize_decoder=False)
  _, raw = linear.apply(params, x)                       # same parameters, no normalisation
  np.testing.assert_allclose(np.asarray(x_hat),
                             np.asarray(raw) / np.linalg.norm(np.asarray(raw), axis=1,
                                                              keepdims=True), rtol=1e-5)


def test_dsae_pytorch_init_is_uniform_in_one_over_sqrt_fan_in():
  net = DSAE(input_dim=300, hidden=(400, 400), code_dim=64)
  params = net.init(jax.random.key(0), jnp.zeros((1, 300)))["params"]
  first = params["encoder_0"]
  for leaf in (first["kernel"], first["bias"]):
    leaf = np.asarray(leaf)
    bound = 1 / np.sqrt(300)
    assert np.abs(leaf).max() <= bound and np.abs(leaf).max() > 0.95 * bound
    np.testing.assert_allclose(leaf.std(), bound / np.sqrt(3), rtol=0.1)   # uniform's std
  flax_default = DSAE(input_dim=300, hidden=(400, 400), code_dim=64, initializer="flax")
  flax_params = flax_default.init(jax.random.key(0), jnp.zeros((1, 300)))["params"]
  assert not np.asarray(flax_params["encoder_0"]["bias"]).any()          # zeros
  np.testing.assert_allclose(np.asarray(flax_params["encoder_0"]["kernel"]).std(),
                             1 / np.sqrt(300), rtol=0.1)                  # lecun_normal


def test_dsae_codes_are_unit_vectors_and_shapes_round_trip():
  net = DSAE(input_dim=7, hidden=(16, 16), code_dim=8)
  x = jnp.ones((5, 7))
  params = net.init(jax.random.key(0), x)
  h, x_hat = net.apply(params, x)
  assert h.shape == (5, 8) and x_hat.shape == (5, 7)
  np.testing.assert_allclose(np.linalg.norm(np.asarray(h), axis=1), 1.0, rtol=1e-5)
