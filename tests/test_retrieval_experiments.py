"""DRSL and SDML end to end: every paper config on generated files of its real
layout, the shipped mfeat configs, and adding a modality to SDML."""

import json
import os

import jax
import numpy as np
import pytest

from conftest import load_config, reevaluation_changes_only_results, set_fields
from retrieval_files import write_pascal_dir, write_sdml_h5, write_xmedia_mat
from xmjax import InputError
from xmjax.models import baselines
from xmjax.train import train_and_evaluate
from xmjax.train import sdml_step
from xmjax.train.experiments import sdml_retrieval


def tiny(name, data_dir, **fields):
  config = load_config(name)
  set_fields(config, **{"data.dir": str(data_dir), "train.num_epochs": 2, "train.batch_size": 20,
                        "eval.cca_components": 2, "log_every": 5}, **fields)
  if config.experiment == "sdml_retrieval":
    set_fields(config, **{"model.hidden": (64, 64), "model.code_dim": 32})
  return config


def assert_retrieval_results(results, prefix, modalities):
  for q in modalities:
    for t in modalities:
      if q != t:
        for kind in ("map", "map50"):
          for model in (prefix, "cca"):
            assert 0.0 <= results[f"{model}/{kind}_{q}2{t}"] <= 1.0
  for model in (prefix, "cca"):
    assert f"{model}/map_mean" in results and f"{model}/map50_mean" in results


@pytest.mark.parametrize("name,layout", [
    ("drsl_wikipedia", "h5"), ("drsl_nuswide", "h5"), ("drsl_xmedianet", "h5"),
    ("drsl_pascal", "pascal"), ("sdml_wikipedia", "h5"), ("sdml_nuswide", "h5"),
    ("sdml_mscoco", "h5"), ("sdml_xmedia", "xmedia")])
def test_paper_config_runs_on_its_real_layout(tmp_path, name, layout):
  data_dir = tmp_path / "data"
  data_dir.mkdir()
  config = load_config(name)
  if layout == "h5":
    write_sdml_h5(data_dir / config.data.file, n_train=100, n_test=70)
    config = tiny(name, data_dir, **{"data.valid_len": 30})
  elif layout == "pascal":
    write_pascal_dir(data_dir, n_train=200)   # 10 per class: 1 per class validates
    config = tiny(name, data_dir)
  else:
    write_xmedia_mat(data_dir / "XMediaFeatures.mat", n_train=60)
    config = tiny(name, data_dir)
  workdir = tmp_path / "run"
  results = train_and_evaluate(config, str(workdir))
  modalities = [m.strip() for m in config.data.modalities.split(",")]
  prefix = name.split("_")[0]
  assert_retrieval_results(results, prefix, modalities)
  with open(workdir / "results.json") as f:
    assert json.load(f) == results
  assert (workdir / "plots" / f"{prefix}_retrieval.png").exists()


def test_drsl_mfeat_learns_and_beats_cca(tmp_path):
  # Narrower networks than the shipped config (1024-300, relation 1024) keep
  # the test short; the code path is the same.
  config = set_fields(load_config("drsl_mfeat"), **{
      "train.num_epochs": 20, "log_every": 50, "model.image_layers": (256, 128),
      "model.text_layers": (256, 128), "model.relation_hidden": 256,
      "train.optimizer.learning_rate": 3e-4})
  results = train_and_evaluate(config, str(tmp_path))
  reevaluation_changes_only_results(config, tmp_path, results)
  assert results["drsl/map_mean"] > 0.5                   # chance is about 0.1
  assert results["drsl/map_mean"] > results["cca/map_mean"]
  assert 0.5 < results["linear/map_mean"] <= 1.0
  with open(tmp_path / "metrics.jsonl") as f:
    records = [json.loads(line) for line in f]
  logged = set().union(*records)
  assert {"drsl/train_loss", "drsl/valid_pair_mse", "drsl/valid_map"} <= logged
  assert (tmp_path / "plots" / "training_curves.png").exists()
  # The evaluated network is the one of best validation mAP among the epoch ends.
  valid_map = {r["step"]: r["drsl/valid_map"] for r in records if "drsl/valid_map" in r}
  per_epoch = 1400 // 100                                 # 70% of 2000 rows, batch 100
  assert sorted(valid_map) == [per_epoch * e for e in range(1, 21)]
  best_step = max(valid_map, key=lambda step: (valid_map[step], -step))
  assert results["drsl/selected_epoch"] == best_step / per_epoch


@pytest.fixture(scope="module")
def sdml_five_views(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("sdml"))
  config = set_fields(load_config("sdml_mfeat"), **{
      "data.modalities": "fou,fac,kar,pix,zer", "train.num_epochs": 5, "log_every": 20})
  results = train_and_evaluate(config, workdir)
  return config, workdir, results


def restore_base(config, workdir):
  dims = {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47}
  projection = np.load(os.path.join(workdir, "sdml", "P.npy"))
  return sdml_step.restore_joint(config, dims, projection,
                                      os.path.join(workdir, "sdml", "checkpoints"))


def test_sdml_mfeat_learns_and_beats_cca(sdml_five_views):
  _, _, results = sdml_five_views
  assert results["sdml/map_mean"] > 0.5
  assert results["sdml/map_mean"] > results["cca/map_mean"]
  assert "sdml/map_pix2zer" in results and "sdml/map_mor2pix" not in results


def test_add_modality_trains_only_the_new_one(sdml_five_views):
  config, workdir, _ = sdml_five_views
  before = restore_base(config, workdir)
  files_before = sorted(os.walk(os.path.join(workdir, "sdml", "checkpoints")))
  added = set_fields(config.copy_and_resolve_references(), add_modality="mor")
  results = train_and_evaluate(added, workdir)
  after = restore_base(config, workdir)
  for old, new in zip(jax.tree.leaves(before), jax.tree.leaves(after)):
    np.testing.assert_array_equal(np.asarray(old), np.asarray(new))   # bit-identical
  assert sorted(os.walk(os.path.join(workdir, "sdml", "checkpoints"))) == files_before
  for other in ("fou", "fac", "kar", "pix", "zer"):                   # old <-> new retrieval works
    assert results[f"sdml/map_mor2{other}"] > 0.15
    assert results[f"sdml/map_{other}2mor"] > 0.15
  with open(os.path.join(workdir, "sdml", "modalities.json")) as f:
    assert json.load(f)["mor"]["checkpoint"] == "sdml/added/mor/checkpoints"
  with pytest.raises(InputError, match=r"config\.add_modality: 'mor' is already trained"):
    train_and_evaluate(added, workdir)
  # Re-evaluating the workdir (the task's own restore: every registered
  # modality, the added one too) gives the numbers training gave.
  reevaluation_changes_only_results(config, workdir, results)


def test_add_modality_needs_a_trained_workdir(tmp_path):
  config = set_fields(load_config("sdml_mfeat"), add_modality="mor")
  with pytest.raises(InputError, match=r"config\.add_modality: .* holds no trained SDML run"):
    train_and_evaluate(config, str(tmp_path))
  assert not (tmp_path / "sdml").exists()


def _toy_modalities(sizes, dims=None, seed=0):
  rng = np.random.default_rng(seed)
  dims = dims or {m: 5 + 4 * i for i, m in enumerate(sizes)}
  data = {m: (jax.numpy.asarray(rng.normal(size=(n, dims[m])), jax.numpy.float32),
              jax.numpy.asarray(rng.integers(0, 3, n))) for m, n in sizes.items()}
  valid = {m: (x[:10], y[:10]) for m, (x, y) in data.items()}
  return dims, data, valid


def _toy_config(**fields):
  return set_fields(load_config("sdml_mfeat"), **{"model.hidden": (32, 32), "model.code_dim": 16,
                                                  **fields})


def _run_joint(config, dims, data, valid, plan, num_steps, batch_size=8, select_on="supervised"):
  from xmjax.train.batching import epoch_batch_rows
  modalities = tuple(e.modality for e in plan)
  projection = sdml_retrieval.orthogonal_projection(0, 16, 3)
  joint = sdml_step.init_joint_state(
      config, sdml_step.make_networks(config, {m: dims[m] for m in modalities}),
      projection, 10)
  step = jax.jit(sdml_step.sdml_train_step,
                 static_argnames=("balance", "schedule", "select_on"))
  history = []
  for i in range(num_steps):
    # One batch stream per modality name, whichever others train beside it.
    rows = {e.modality: epoch_batch_rows(
        (0, sorted(data).index(e.modality)), len(data[e.modality][1]), batch_size,
        min(i, e.num_steps - 1)) for e in plan}
    joint, _ = step(joint, {m: data[m] for m in modalities}, {m: valid[m] for m in modalities},
                    rows, balance=0.5, schedule=plan, select_on=select_on)
    history.append(joint)
  return history


def test_joint_step_equals_stepping_each_modality_alone():
  config = _toy_config()
  dims, data, valid = _toy_modalities({"a": 40, "b": 40})
  plan = tuple(sdml_step.Schedule(m, 10, 2) for m in dims)
  together = _run_joint(config, dims, data, valid, plan, 3)[-1]
  for entry in plan:
    alone = _run_joint(config, dims, data, valid, (entry,), 3)[-1]
    m = entry.modality
    for a, b in ((together.states[m].params, alone.states[m].params),
                 (together.states[m].opt_state, alone.states[m].opt_state),
                 (together.best_params[m], alone.best_params[m])):
      jax.tree.map(lambda x, y: np.testing.assert_allclose(x, y, rtol=1e-5, atol=1e-6), a, b)


def test_each_modality_trains_and_validates_on_its_own_epochs():
  """A modality with a quarter of the rows completes the same number of its
  own epochs (a quarter of the steps), is validated once per own epoch, as
  often as the big one, and then stands still while the other trains on."""
  config = _toy_config(**{"train.num_epochs": 3, "train.batch_size": 8})
  dims, data, valid = _toy_modalities({"big": 64, "small": 16})
  plan = sdml_step.schedules(config, {"big": 64, "small": 16})
  assert plan == (sdml_step.Schedule("big", 24, 8), sdml_step.Schedule("small", 6, 2))
  history = _run_joint(config, dims, data, valid, plan, 24)
  final = history[-1]
  assert int(final.states["big"].step) == 24 and int(final.states["small"].step) == 6
  assert int(final.validations["big"]) == 3 == int(final.validations["small"])
  # Validated exactly at the ends of its own epochs.
  small_counts = [int(j.validations["small"]) for j in history]
  assert small_counts[:7] == [0, 1, 1, 2, 2, 3, 3]
  for m, entry in zip(("big", "small"), plan):
    assert int(final.best_step[m]) % entry.validate_every == 0
    assert 0 < int(final.best_step[m]) <= entry.num_steps
  # After its 6 steps the small network and its optimiser state no longer move.
  jax.tree.map(np.testing.assert_array_equal, history[5].states["small"], final.states["small"])
  assert not np.array_equal(np.asarray(jax.tree.leaves(history[5].states["big"].params)[0]),
                            np.asarray(jax.tree.leaves(final.states["big"].params)[0]))


@pytest.mark.parametrize("select_on", ["supervised", "loss"])
def test_selection_keeps_the_network_of_the_best_validation_criterion(select_on):
  from xmjax.models.sdml import sdml_loss_terms
  config = _toy_config(**{"train.num_epochs": 4, "train.batch_size": 8})
  dims, data, valid = _toy_modalities({"a": 32})
  plan = sdml_step.schedules(config, {"a": 32})
  history = _run_joint(config, dims, data, valid, plan, 16, select_on=select_on)
  final = history[-1]
  net = sdml_step.make_networks(config, {"a": dims["a"]})["a"]
  projection = final.projection

  def criterion(params):
    h, x_hat = net.apply({"params": params}, valid["a"][0])
    reconstruction, supervised = sdml_loss_terms(h, x_hat, valid["a"][0], valid["a"][1],
                                                 projection)
    return float(supervised if select_on == "supervised" else
                 0.5 * reconstruction + 0.5 * supervised)

  at_epoch_ends = [criterion(history[i].states["a"].params) for i in (3, 7, 11, 15)]
  np.testing.assert_allclose(float(final.best_valid["a"]), min(at_epoch_ends), rtol=1e-5)
  np.testing.assert_allclose(criterion(final.best_params["a"]), min(at_epoch_ends), rtol=1e-5)
  assert int(final.best_step["a"]) == 4 * (1 + int(np.argmin(at_epoch_ends)))


@pytest.mark.parametrize("name", ["drsl_mfeat", "vse_mfeat"])
def test_pair_models_need_exactly_two_modalities(tmp_path, name):
  config = set_fields(load_config(name), **{"data.modalities": "pix,fou,kar"})
  with pytest.raises(InputError, match=rf"config\.data\.modalities: {config.experiment} relates "
                     r"exactly 2 modalities, got \['pix', 'fou', 'kar'\]"):
    train_and_evaluate(config, str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()


def test_unknown_modality_is_named(tmp_path):
  config = set_fields(load_config("sdml_mfeat"), **{"data.modalities": "pix,sound"})
  with pytest.raises(InputError, match=r"config\.data\.modalities: \['sound'\] not in"):
    train_and_evaluate(config, str(tmp_path / "run"))


def test_fusion_width_mismatch_is_named(tmp_path):
  config = set_fields(load_config("drsl_mfeat"), **{"model.fusion": "add",
                                                    "model.text_layers": (1024, 200)})
  with pytest.raises(InputError, match=r"config\.model\.fusion: 'add' needs image_layers and text_layers"):
    train_and_evaluate(config, str(tmp_path / "run"))
  assert not (tmp_path / "run").exists()


def test_linear_baseline_separates_separable_data_and_ignores_unlabelled_rows():
  rng = np.random.default_rng(0)
  labels = np.arange(60) % 3
  x = (rng.normal(size=(60, 4)) + 4 * np.eye(3, 4)[labels]).astype(np.float32)
  l2 = (1e-4, 1e-2)
  w, b = baselines.fit_logistic(x, labels, l2, num_classes=3)
  assert w.shape == (2, 4, 3) and b.shape == (2, 3)
  assert (np.argmax(x @ np.asarray(w[0]) + np.asarray(b[0]), 1) == labels).all()
  assert np.abs(w[1]).sum() < np.abs(w[0]).sum()          # stronger L2, smaller weights
  # Unlabelled rows (label -1) with arbitrary features leave the fit unchanged.
  noise = rng.normal(size=(20, 4)).astype(np.float32) * 100
  w2, b2 = baselines.fit_logistic(np.concatenate([x, noise]),
                                         np.concatenate([labels, -np.ones(20, int)]), l2,
                                         num_classes=3)
  np.testing.assert_allclose(np.asarray(w2), np.asarray(w), rtol=1e-4, atol=1e-5)
  np.testing.assert_allclose(np.asarray(b2), np.asarray(b), rtol=1e-4, atol=1e-5)
