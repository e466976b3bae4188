"""RR-Net's three paper tasks end to end on generated data of the real
layouts: CIFAR through mock TFDS, ESC fold features, FilmTrust/Ciao ratings;
and their bad input."""

import dataclasses
import json

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.io

from conftest import load_config, reevaluation_changes_only_results, set_fields
from xmjax import InputError
from xmjax.data import load_label_embeddings
from xmjax.data import ratings as ratings_lib
from xmjax.data.class_names import CLASS_NAMES
from xmjax.graph import ratings as rating_graph
from xmjax.data.synthetic import make_fold_features, make_social_ratings, write_librec
from xmjax.models.cnn import feature_dim, make_baseline
from xmjax.train import train_and_evaluate


# ---------------------------------------------------------------------------
# CIFAR


def tiny_cifar_config(**overrides):
  """configs/rrnet_cifar.py on 64 generated examples per split, a 1/16-width
  ResNet18 and a few steps: the same code path as the real run."""
  config = load_config("rrnet_cifar")
  return set_fields(config, **{
      "data.fake_examples": 64, "baseline.width": 0.0625, "baseline.num_epochs": 1,
      "baseline.batch_size": 16, "baseline.eval_batch_size": 32, "rrnet.k1": 5,
      "rrnet.num_steps": 3, "rrnet.pad_multiple": 32, "log_every": 1, **overrides})


def test_cifar_configs_never_fake_data_by_default():
  for name, dataset, k1, k2, kk in (("rrnet_cifar", "cifar10", 10, 2, 10),
                                    ("rrnet_cifar100", "cifar100", 20, 3, 15)):
    config = load_config(name)
    assert config.data.fake_examples == 0 and config.data.name == dataset
    assert (config.rrnet.k1, config.rrnet.k2, config.rrnet.num_candidates) == (k1, k2, kk)
    assert (config.rrnet.hidden, config.rrnet.units.count(",") + 1) == (16, 5)
    assert config.baseline.optimizer.name == "sgd"
    assert (config.baseline.optimizer.learning_rate, config.baseline.optimizer.momentum,
            config.baseline.optimizer.weight_decay) == (0.01, 0.9, 5e-4)


def test_cifar_smoke_run_writes_both_accuracies(tmp_path):
  results = train_and_evaluate(tiny_cifar_config(), str(tmp_path))
  reevaluation_changes_only_results(tiny_cifar_config(), tmp_path, results)
  for key in ("baseline/test_accuracy", "rrnet/test_accuracy"):
    assert 0.0 <= results[key] <= 1.0
  with np.load(tmp_path / "baseline" / "outputs.npz") as f:
    assert f["train_features"].shape == (64, 32)   # 512 x 1/16
    assert f["test_probs"].shape == (64, 10)
    np.testing.assert_allclose(f["test_probs"].sum(1), 1.0, rtol=1e-5)
  saved = json.loads((tmp_path / "config.json").read_text())
  assert saved["data"]["fake_examples"] == 64


def test_mfeat_config_runs_on_feature_vectors_with_an_mlp_baseline(tmp_path):
  """The second real data set: UCI Multiple Features as instances (two views
  here, concatenated), an MLP baseline, RR-Net on its features, and
  an ablation trained in the same run under its own prefix (here the one
  that changes the model; the shipped configs run all four, whose stages
  test_rrnet_model.py checks without training)."""
  assert load_config("rrnet_mfeat").rrnet.ablations == (
      "inter_only,no_instance_graph,no_label_graph,mlp_reranker")
  config = set_fields(load_config("rrnet_mfeat"), **{
      "data.views": "pix,fou", "baseline.num_epochs": 4, "rrnet.num_steps": 100,
      "rrnet.ablations": "mlp_reranker", "log_every": 50})
  results = train_and_evaluate(config, str(tmp_path))
  prefixes = ("rrnet", "mlp_reranker")
  assert results["baseline/test_accuracy"] > 0.8 and results["rrnet/test_accuracy"] > 0.8
  assert "rrnet_inter_only/test_accuracy" not in results
  for prefix in prefixes:
    assert results[f"{prefix}/test_accuracy"] > 0.5, prefix     # 100 steps: learning
    assert (tmp_path / prefix / "checkpoints").is_dir()
  # The graph-free re-ranker has RR-Net's capacity: its parameter count within a width step.
  assert abs(results["mlp_reranker/num_params"] - results["rrnet/num_params"]) < 0.02 * \
      results["rrnet/num_params"]
  with np.load(tmp_path / "baseline" / "outputs.npz") as f:
    assert f["test_features"].shape == (400, feature_dim("mlp"))     # 20% of 2000
  timing = json.loads((tmp_path / "timing.json").read_text())
  assert all(f"{prefix}_seconds" in timing for prefix in prefixes)
  for field, value, match in [
      ("baseline.arch", "digits_cnn", r"config\.baseline\.arch: data\.name 'mfeat' holds feature"),
      ("baseline.crop_padding", 1, r"config\.baseline\.crop_padding / flip"),
      ("data.views", "pix,sound", r"config\.data\.views: \['sound'\] not in"),
      ("rrnet.ablations", "inter_only,no_edges", r"config\.rrnet\.ablations: expected distinct"),
      ("rrnet.ablations", "inter_only,inter_only", r"config\.rrnet\.ablations: expected distinct")]:
    with pytest.raises(InputError, match=match):
      train_and_evaluate(set_fields(load_config("rrnet_mfeat"), **{field: value}),
                         str(tmp_path / "bad"))


@pytest.mark.parametrize("arch,width,features", [
    ("resnet18", 1.0, 512), ("resnet50", 1.0, 2048), ("mobilenet_v2", 1.0, 1280),
    ("resnet50", 0.25, 512)])
def test_baselines_have_the_published_feature_widths(arch, width, features):
  model = make_baseline(arch, 100, width=width)
  images = jax.ShapeDtypeStruct((2, 32, 32, 3), jnp.float32)
  variables = jax.eval_shape(model.init, jax.random.key(0), images)
  (logits, feats), _ = jax.eval_shape(
      lambda v, x: model.apply(v, x, train=True, mutable=["batch_stats"]), variables, images)
  assert logits.shape == (2, 100) and feats.shape == (2, features) == (2, feature_dim(arch, width))
  assert "batch_stats" in variables
  if width == 1.0:
    count = sum(np.prod(p.shape) for p in jax.tree.leaves(variables["params"]))
    # Published CIFAR variants (100 classes): 11.2M, 23.7M, 2.4M parameters.
    assert abs(count - {"resnet18": 11.22e6, "resnet50": 23.71e6, "mobilenet_v2": 2.37e6}[arch]) \
        < 0.05e6, count


def test_unprepared_tfds_data_names_the_directory(tmp_path):
  config = load_config("rrnet_cifar")
  config.data.data_dir = str(tmp_path / "no_tfds_here")
  with pytest.raises(InputError, match=r"config\.data\.data_dir: no prepared TFDS 'cifar10' in "
                                       r".*no_tfds_here.*tfds build cifar10.*needs TensorFlow"):
    train_and_evaluate(config, str(tmp_path / "run"))
  # A folder that looks prepared but is not readable still gets TFDS's own reason.
  (tmp_path / "half" / "cifar10" / "3.0.2").mkdir(parents=True)
  (tmp_path / "half" / "cifar10" / "3.0.2" / "dataset_info.json").write_text("{}")
  config.data.data_dir = str(tmp_path / "half")
  with pytest.raises(InputError, match=r"config\.data\.data_dir: cannot open TFDS 'cifar10'"):
    train_and_evaluate(config, str(tmp_path / "run2"))


def test_shipped_label_embeddings_match_the_class_names():
  for dataset, names in CLASS_NAMES.items():
    embeddings = load_label_embeddings(dataset)
    assert embeddings.shape == (len(names), 384)
    np.testing.assert_allclose(np.linalg.norm(embeddings, axis=1), 1.0, rtol=1e-4)
  # A real sentence encoder: cat is nearer to dog than to truck.
  cifar = load_label_embeddings("cifar10")
  names = list(CLASS_NAMES["cifar10"])
  cat, dog, truck = (cifar[names.index(n)] for n in ("cat", "dog", "truck"))
  assert cat @ dog > cat @ truck + 0.1


def test_user_label_vectors_with_the_wrong_count_name_the_file(tmp_path):
  path = tmp_path / "glove.npy"
  np.save(path, np.ones((7, 300), np.float32))
  config = tiny_cifar_config(**{"rrnet.label_features": "file", "rrnet.label_embeddings": str(path)})
  with pytest.raises(InputError, match=r"glove\.npy: 7 label vectors for 10 classes"):
    train_and_evaluate(config, str(tmp_path / "run"))


# ---------------------------------------------------------------------------
# ESC: pre-extracted features, leave one fold out


def esc_config(path, **overrides):
  return set_fields(load_config("rrnet_esc10"), **{"data.dir": str(path), **overrides})


def test_esc10_leave_one_fold_out_beats_its_baseline(tmp_path):
  np.savez(tmp_path / "esc10.npz", **make_fold_features(10, 40, seed=0))
  results = train_and_evaluate(esc_config(tmp_path), str(tmp_path / "run"))  # 300 steps
  reevaluation_changes_only_results(esc_config(tmp_path), tmp_path / "run", results)
  folds = [results[f"rrnet/fold{f}_accuracy"] for f in range(1, 6)]
  assert results["rrnet/accuracy_mean"] == pytest.approx(np.mean(folds))
  assert results["rrnet/accuracy_std"] == pytest.approx(np.std(folds))
  assert results["baseline/accuracy_mean"] == pytest.approx(0.4825)  # the generator's baseline
  # Measured 0.93 / 0.85 / 0.89 for seeds 0 / 1 / 2.
  assert results["rrnet/accuracy_mean"] > results["baseline/accuracy_mean"] + 0.2


def test_all_folds_in_one_step_equal_separate_training(tmp_path):
  # Stacking the folds is an implementation detail: fold 3 trained inside the
  # stacked step must match fold 3's graph trained alone.
  from xmjax.train.experiments import rrnet_folds
  np.savez(tmp_path / "esc10.npz", **make_fold_features(10, 20, seed=1))
  config = esc_config(tmp_path, **{"rrnet.num_steps": 3})
  data = rrnet_folds.prepare(config)
  graphs = rrnet_folds.build_fold_graphs(config, data)
  state = rrnet_folds.initial_state(config, graphs)
  single = jax.tree.map(lambda x: x[2], state.params)
  folds_step = jax.jit(rrnet_folds.folds_train_step)
  for _ in range(3):
    state, _ = folds_step(state, *graphs["train"])
  from xmjax.train.rrnet_stage import make_rrnet, rrnet_train_step
  from xmjax.train import optim
  from xmjax.train.state import create_train_state
  alone = create_train_state(make_rrnet(config).apply, single,
                             optim.make_optimizer(config.rrnet.optimizer, 3))
  graph3 = jax.tree.map(lambda x: x[2], graphs["train"][0])
  for _ in range(3):
    alone, _ = jax.jit(rrnet_train_step)(alone, graph3, graphs["train"][1][2])
  for a, b in zip(jax.tree.leaves(alone.params), jax.tree.leaves(state.params)):
    np.testing.assert_allclose(a, b[2], rtol=2e-5, atol=2e-6)


@pytest.mark.parametrize("change,match", [
    (lambda d: d.update(folds=np.where(d["folds"] == 5, 6, d["folds"])),
     r"esc10\.npz: 'folds' must be integers in 1\.\.5; found \[6\]"),
    (lambda d: d.update(labels=d["labels"][:-3]), r"esc10\.npz: row counts disagree"),
    (lambda d: d.pop("baseline_probs"), r"esc10\.npz: missing.*baseline_probs"),
])
def test_malformed_fold_features_name_the_file(tmp_path, change, match):
  arrays = make_fold_features(10, 10, seed=0)
  change(arrays)
  np.savez(tmp_path / "esc10.npz", **arrays)
  with pytest.raises(InputError, match=match):
    train_and_evaluate(esc_config(tmp_path), str(tmp_path / "run"))
  assert not (tmp_path / "run" / "rrnet").exists()


# ---------------------------------------------------------------------------
# Ratings


def test_ratings_demo_learns(tmp_path):
  """The demo's settings, one split and fewer steps: RR-Net is well below the
  training mean and within reach of biased MF of the same split."""
  config = set_fields(load_config("rrnet_ratings_demo"), **{
      "data.num_splits": 1, "rrnet.num_steps": 300})
  results = train_and_evaluate(config, str(tmp_path))
  reevaluation_changes_only_results(config, tmp_path, results)
  assert results["training"] == "full_graph"
  assert results["num_test_ratings"] == 600          # 20% of 100 users x 30 ratings
  assert results["rrnet/test_rmse"] < results["mean/test_rmse"] - 0.15
  assert results["rrnet/test_mae"] < results["mean/test_mae"] - 0.1
  assert results["rrnet/test_rmse"] < results["mf/test_rmse"] + 0.1
  assert results["mf/l2_split0"] in tuple(config.mf.l2)


def test_biased_mf_recovers_a_planted_low_rank_matrix():
  """Biased MF on noise-free ratings mu + b_u + b_i + p_u . q_i (rank 2,
  60% observed): the held-out entries come back, far better than their
  mean; the validation split picks the weakest l2 of the grid."""
  from xmjax.models.baselines import fit_biased_mf
  rng = np.random.default_rng(0)
  users, items, rank = 40, 30, 2
  truth = (2.0 + 0.5 * rng.standard_normal((users, 1)) + 0.5 * rng.standard_normal((1, items))
           + rng.standard_normal((users, rank)) @ rng.standard_normal((rank, items)) * 0.5)
  u, i = np.meshgrid(np.arange(users), np.arange(items), indexing="ij")
  u, i, r = u.ravel(), i.ravel(), truth.ravel()
  seen = rng.random(len(r)) < 0.6
  predict, l2, valid_rmse = fit_biased_mf(
      u[seen], i[seen], r[seen], num_users=users, num_items=items, rating_range=(-10, 10),
      rank=rank, l2_grid=(1e-4, 1.0), num_steps=1500, learning_rate=0.05, valid_fraction=0.1,
      seed=0)
  weak, strong = sorted(valid_rmse)
  assert l2 == weak == pytest.approx(1e-4) and valid_rmse[weak] < valid_rmse[strong]
  error = predict(u[~seen], i[~seen]) - r[~seen]
  spread = np.sqrt(np.mean((r[~seen] - r[seen].mean()) ** 2))
  assert np.sqrt(np.mean(error ** 2)) < 0.1 * spread


def write_filmtrust(directory, seed=0):
  arrays = make_social_ratings(num_users=30, num_items=20, ratings_per_user=6, seed=seed)
  write_librec(str(directory), arrays["ratings"], arrays["trust"])
  return arrays


def test_filmtrust_config_on_librec_files(tmp_path):
  arrays = write_filmtrust(tmp_path / "filmtrust")
  config = set_fields(load_config("rrnet_filmtrust"), **{
      "data.dir": str(tmp_path / "filmtrust"), "data.num_splits": 2, "rrnet.num_steps": 3})
  results = train_and_evaluate(config, str(tmp_path / "run"))
  assert results["training"] == "full_graph"
  assert results["num_test_ratings"] == 2 * 36        # every test rating of both splits
  for key in ("rrnet/test_mae", "rrnet/test_rmse", "mean/test_rmse"):
    assert 0 < results[key] < 3.5
  assert results["rrnet/test_rmse"] == pytest.approx(
      np.mean([results["rrnet/test_rmse_split0"], results["rrnet/test_rmse_split1"]]))
  assert len(arrays["ratings"]) == 180


def test_rating_attributes_hold_the_training_ratings_only():
  """node_attributes="ratings": a user's row is its centred training ratings
  over the items / its count; an item's column likewise; a test rating
  changes nothing."""
  from xmjax.graph.ratings import rating_attributes
  data = ratings_lib.RatingData(
      users=np.array([0, 0, 1, 2, 2], np.int32), items=np.array([0, 2, 2, 1, 0], np.int32),
      ratings=np.array([1.0, 3.0, 4.0, 2.0, 0.5], np.float32), trust=np.zeros((0, 2), np.int32),
      num_users=4, num_items=3, grid=(0.5, 4.0))
  train = np.array([0, 1, 2, 3])                       # rating 4 (user 2, item 0) is a test rating
  users, items = rating_attributes(data, train)
  mean = 2.5                                           # of the four training ratings
  expected = np.zeros((4, 3))
  expected[0, 0], expected[0, 2] = (1 - mean) / 2, (3 - mean) / 2
  expected[1, 2] = 4 - mean
  expected[2, 1] = 2 - mean
  np.testing.assert_allclose(users, expected, rtol=1e-6)
  np.testing.assert_allclose(items[2], np.array([3 - mean, 4 - mean, 0, 0]) / 2, rtol=1e-6)
  np.testing.assert_allclose(items[0], [1 - mean, 0, 0, 0], rtol=1e-6)   # not the test rating
  assert not users[3].any() and users.shape == (4, 3) and items.shape == (3, 4)
  changed = dataclasses.replace(data, ratings=data.ratings.copy())
  changed.ratings[4] = 4.0
  np.testing.assert_array_equal(rating_attributes(changed, train)[0], users)


def test_target_fraction_holds_each_steps_targets_out_of_its_attributes(tmp_path):
  """rrnet.target_fraction: a step's loss covers a seeded share of the
  training ratings, and exactly those (and every test rating) are missing
  from the node attributes the step builds; prediction sees every training
  rating. The draw is a pure function of the step."""
  from xmjax.train.experiments import rrnet_ratings as rr
  write_filmtrust(tmp_path / "filmtrust")
  fields = {"data.dir": str(tmp_path / "filmtrust"), "data.num_splits": 1,
            "rrnet.node_attributes": "ratings", "rrnet.target_fraction": 0.5}
  problem = rr.prepare(set_fields(load_config("rrnet_filmtrust"), **fields))
  stage = problem.stage(0)
  graph, _, loss_mask, attribute_ratings = stage.batches(5)
  train = ~problem.test_masks[0]
  target = np.asarray(loss_mask)[problem.edge_ids]            # per rating
  assert not target[~train].any() and 0.3 < target[train].mean() < 0.7
  weight = np.asarray(attribute_ratings.weight)
  np.testing.assert_array_equal(weight, (train & ~target).astype(np.float32))
  d = problem.data
  mean = d.ratings[train].mean()                              # the split's training mean
  expected = np.zeros((d.num_users, d.num_items))
  kept = train & ~target
  expected[d.users[kept], d.items[kept]] = d.ratings[kept] - mean
  users, items = rating_graph.attributes_from_ratings(attribute_ratings, d.num_users, d.num_items)
  count_u = np.maximum(np.bincount(d.users[kept], minlength=d.num_users), 1)
  count_i = np.maximum(np.bincount(d.items[kept], minlength=d.num_items), 1)
  np.testing.assert_allclose(users, expected / count_u[:, None], rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(items, expected.T / count_i[:, None], rtol=1e-5, atol=1e-6)
  np.testing.assert_array_equal(np.asarray(stage.batches(5)[2]), np.asarray(loss_mask))
  assert (np.asarray(stage.batches(6)[2]) != np.asarray(loss_mask)).any()
  # Prediction's attributes: every training rating.
  full = rating_graph.rating_attributes(d, np.flatnonzero(train))
  np.testing.assert_allclose(problem.split_graph(0).nodes1.todense(), full[0], rtol=1e-6)
  with pytest.raises(InputError, match=r"config\.rrnet\.target_fraction: .*node_attributes"):
    rr.prepare(set_fields(load_config("rrnet_filmtrust"),
                          **{**fields, "rrnet.node_attributes": "random"}))


def test_prediction_draws_average_over_attributes_drawn_as_in_training(tmp_path):
  """rrnet.prediction_draws: the test probabilities are the mean over K
  graphs whose attributes each leave out a target_fraction share of the
  training ratings (never a test rating); with a vanishing share they are
  the every-rating prediction."""
  from xmjax.train.experiments import rrnet_ratings as rr
  from xmjax.train.rrnet_rating_steps import from_unit, full_graph_probs
  write_filmtrust(tmp_path / "filmtrust")
  fields = {"data.dir": str(tmp_path / "filmtrust"), "data.num_splits": 1,
            "rrnet.node_attributes": "ratings", "rrnet.target_fraction": 0.5,
            "rrnet.prediction_draws": 3}
  problem = rr.prepare(set_fields(load_config("rrnet_filmtrust"), **fields))
  state = problem.initial_state(0)
  d, test = problem.data, problem.test_masks[0]
  attribute_ratings = rating_graph.split_attribute_ratings(d, np.flatnonzero(~test))
  key = jax.random.fold_in(jax.random.key(0), 200)          # the seed, split 0
  expected, kept_share = [], []
  for draw_key in jax.random.split(key, 3):
    kept = np.asarray(jax.random.uniform(draw_key, (len(d.ratings),))) >= 0.5
    weight = (~test & kept).astype(np.float32)
    drawn = rating_graph.drawn_attribute_ratings(attribute_ratings, draw_key, 0.5)
    np.testing.assert_array_equal(np.asarray(drawn.weight), weight)   # no test rating, ever
    kept_share.append(weight[~test].mean())
    graph = rating_graph.with_rating_attributes(problem.graph, attribute_ratings._replace(
        weight=jnp.asarray(weight)))
    expected.append(np.asarray(full_graph_probs(state, graph, problem.edge_ids[test])))
  assert 0.3 < np.mean(kept_share) < 0.7 and len(set(kept_share)) == 3
  truth_scale = from_unit(np.mean(expected, 0), d.rating_range)
  np.testing.assert_allclose(problem.predict(state, 0), truth_scale, rtol=1e-5)
  # A vanishing held-out share: every draw holds every training rating.
  nearly_all = rr.prepare(set_fields(load_config("rrnet_filmtrust"), **{
      **fields, "rrnet.target_fraction": 1e-9}))
  every = rr.prepare(set_fields(load_config("rrnet_filmtrust"), **{
      **fields, "rrnet.target_fraction": 1e-9, "rrnet.prediction_draws": 0}))
  np.testing.assert_allclose(nearly_all.predict(state, 0), every.predict(state, 0), rtol=1e-5)
  assert np.abs(problem.predict(state, 0) - every.predict(state, 0)).max() > 1e-3
  with pytest.raises(InputError, match=r"config\.rrnet\.prediction_draws: .*target_fraction"):
    rr.prepare(set_fields(load_config("rrnet_filmtrust"), **{
        **fields, "rrnet.target_fraction": 0.0}))


def test_edge_minibatches_cover_every_test_rating(tmp_path):
  write_filmtrust(tmp_path / "filmtrust")
  # Node attributes from each split's training ratings (also on this path).
  config = set_fields(load_config("rrnet_filmtrust"), **{
      "data.dir": str(tmp_path / "filmtrust"), "data.num_splits": 1, "rrnet.num_steps": 4,
      "rrnet.edge_budget": 100, "rrnet.edge_batch_size": 25,
      "rrnet.node_attributes": "ratings", "rrnet.target_fraction": 0.5,
      "rrnet.prediction_draws": 2})
  results = train_and_evaluate(config, str(tmp_path / "run"))
  assert results["training"] == "edge_minibatch"
  assert results["num_test_ratings"] == 36           # 36 test ratings in blocks of 25
  assert 0 < results["rrnet/test_rmse"] < 3.5


def test_ciao_config_on_mat_files(tmp_path):
  arrays = make_social_ratings(num_users=25, num_items=15, ratings_per_user=5, seed=2)
  r = arrays["ratings"]
  rating = np.stack([r[:, 0] + 1, r[:, 1] + 1, np.ones(len(r)),
                     np.clip(np.round(r[:, 2] * 1.25), 1, 5), np.zeros(len(r))], 1)
  rating = np.concatenate([rating, [[100000, 1, 1, 3, 0]]])   # an id the paper filters out
  (tmp_path / "ciao").mkdir()
  scipy.io.savemat(tmp_path / "ciao" / "rating.mat", {"rating": rating})
  scipy.io.savemat(tmp_path / "ciao" / "trustnetwork.mat", {"trustnetwork": arrays["trust"] + 1})
  data = ratings_lib.load_ciao(str(tmp_path / "ciao"))
  assert len(data.ratings) == 125 and data.rating_range == (1.0, 5.0)
  config = set_fields(load_config("rrnet_ciao"), **{
      "data.dir": str(tmp_path / "ciao"), "data.num_splits": 1, "rrnet.num_steps": 3})
  results = train_and_evaluate(config, str(tmp_path / "run"))
  assert results["num_test_ratings"] == 25 and 0 < results["rrnet/test_rmse"] < 4


@pytest.mark.parametrize("line,match", [
    ("3 7\n", r"ratings\.txt: line 2: expected 3 columns 'user item rating', got 2"),
    ("3 x7 2.0\n", r"ratings\.txt: line 2: not numeric"),
    ("3.5 7 2.0\n", r"ratings\.txt: user ids must be positive integers; row 2 has 3\.5"),
    ("3 7 2.2\n", r"ratings\.txt: rating 2\.2 at row 2 is off the grid"),
])
def test_malformed_librec_files_name_the_file_and_line(tmp_path, line, match):
  (tmp_path / "ratings.txt").write_text("1 1 1.5\n" + line)
  (tmp_path / "trust.txt").write_text("1 3 1\n")
  with pytest.raises(InputError, match=match):
    ratings_lib.load_librec(str(tmp_path))


def test_mat_without_the_expected_variable_names_it(tmp_path):
  scipy.io.savemat(tmp_path / "rating.mat", {"ratings": np.ones((3, 5))})
  scipy.io.savemat(tmp_path / "trustnetwork.mat", {"trustnetwork": np.ones((2, 2))})
  with pytest.raises(InputError, match=r"rating\.mat: missing MATLAB variable 'rating'"):
    ratings_lib.load_ciao(str(tmp_path))
