"""One smoke run per real-data config on a small slice of the papers' own
data in ../shared/data/real/ (skipped, with the reason, where it is not
there): CIFAR-10 from the JPEG image folder, ESC-10 from the spectrogram
archive, FilmTrust from the librec files (the sampled graph's run, and the
all-items graph's shape and chunking). Each asserts what the run
must produce, not a number it must reach."""

import os

import numpy as np
import pytest

from conftest import ROOT, load_config, set_fields
from xmjax.train import train_and_evaluate

REAL = os.path.join(os.path.dirname(ROOT), "shared", "data", "real")


def _real(*parts):
  path = os.path.join(REAL, *parts)
  if not os.path.exists(path):
    pytest.skip(f"{path} not here (the papers' data sets live in ../shared/data/real/)")
  return path


def test_cifar10_jpeg_config_runs_on_a_slice_of_the_real_images(tmp_path):
  config = set_fields(load_config("rrnet_cifar10_jpeg"), **{
      "data.path": _real("cifar10_jpeg.tar.gz"), "data.cache_dir": str(tmp_path / "cache"),
      "data.max_per_class": 12, "baseline.width": 0.0625, "baseline.num_epochs": 1,
      "baseline.batch_size": 16, "baseline.eval_batch_size": 40, "rrnet.k1": 3,
      "rrnet.num_steps": 2, "rrnet.pad_multiple": 32, "log_every": 1})
  results = train_and_evaluate(config, str(tmp_path / "run"))
  for prefix in ("baseline", "rrnet", "mlp_reranker"):
    assert 0.0 <= results[f"{prefix}/test_accuracy"] <= 1.0
  with np.load(tmp_path / "run" / "data_split.npz") as split:
    assert len(split["test"]) == 120 and len(split["valid"]) == 10  # 12 per class; 1 per class valid


def test_esc10_spec_config_runs_on_the_real_spectrograms(tmp_path):
  config = set_fields(load_config("rrnet_esc10_spec"), **{
      "data.path": _real("esc50_spec.tar.gz"), "data.cache_dir": str(tmp_path / "cache"),
      "data.test_fold": 3, "baseline.width": 0.25, "baseline.num_epochs": 1,
      "rrnet.num_steps": 2, "log_every": 1})
  results = train_and_evaluate(config, str(tmp_path / "run"))
  with np.load(tmp_path / "run" / "baseline" / "outputs.npz") as f:
    assert f["test_probs"].shape == (80, 10)       # fold 3 of ESC-10: 8 clips per class
    assert f["train_features"].shape[1] == 32      # spec_cnn's 128 x 0.25
  assert 0.0 <= results["rrnet/test_accuracy"] <= 1.0
  assert 0.0 <= results["mlp_reranker/test_accuracy"] <= 1.0


def test_filmtrust_sampled_config_runs_on_the_real_files(tmp_path):
  config = set_fields(load_config("rrnet_filmtrust_sampled"), **{
      "data.dir": _real("filmtrust"), "data.num_splits": 1, "rrnet.num_steps": 2,
      "rrnet.prediction_draws": 2, "mf.num_steps": 5, "mf.l2": (0.1,), "log_every": 1})
  results = train_and_evaluate(config, str(tmp_path))
  assert results["num_test_ratings"] == round(0.2 * 35494)  # 35,497 less 3 repeated pairs
  for prefix in ("rrnet", "mf", "mean"):
    assert np.isfinite(results[f"{prefix}/test_rmse"])
  assert 0.85 < results["mean/test_rmse"] < 1.0


def test_filmtrust_config_chunks_the_real_all_items_graph():
  """The shipped config's graph on the real files is the paper's (every user
  to every item) and runs in 38 edge chunks; the chunked model's numbers
  equal the plain one's (tests/test_chunked_edges.py), its memory is
  benchmarks/ratings_memory.py's."""
  from xmjax.train.experiments import rrnet_ratings
  config = set_fields(load_config("rrnet_filmtrust"), **{
      "data.dir": _real("filmtrust"), "data.num_splits": 1})
  problem = rrnet_ratings.prepare(config)
  assert problem.graph.inter.senders.shape[0] == 1642 * 2071 and problem.edge_chunks == 38
  assert problem.graph.nodes1.shape[0] == 1642 and problem.graph.nodes2.shape[0] == 2071
