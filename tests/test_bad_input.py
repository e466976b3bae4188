"""Bad input fails fast with a message naming the file or field, before any
checkpoint is written."""

import os

import numpy as np
import pytest

from conftest import short_digits_config
from xmjax import InputError
from xmjax.data import load_mfeat, load_optdigits
from xmjax.graph import classification_graph
from xmjax.train import train_and_evaluate


def write_digits(path, images=None, labels=None, **extra):
  rng = np.random.default_rng(0)
  if images is None:
    images = rng.integers(0, 17, (60, 8, 8)).astype(np.float32)
  if labels is None:
    labels = np.arange(60) % 10
  np.savez(path, images=images, labels=labels, **extra)
  return str(path)


def assert_fails_before_writing(config, workdir, match):
  with pytest.raises(InputError, match=match):
    train_and_evaluate(config, str(workdir))
  assert not os.path.exists(os.path.join(workdir, "baseline", "checkpoints"))
  assert not os.path.exists(os.path.join(workdir, "rrnet", "checkpoints"))


def test_nan_features_name_the_file(tmp_path):
  images = np.random.default_rng(0).random((60, 8, 8)).astype(np.float32)
  images[7, 3, 3] = np.nan
  path = write_digits(tmp_path / "nan.npz", images=images)
  config = short_digits_config(**{"data.path": path})
  assert_fails_before_writing(config, tmp_path / "run", r"nan\.npz: 'images': 1 NaN/Inf values in 1 rows \(first bad row 7\)")


def test_inf_features_are_rejected_too(tmp_path):
  images = np.zeros((60, 8, 8), np.float32)
  images[0, 0, 0] = np.inf
  with pytest.raises(InputError, match="NaN/Inf"):
    load_optdigits(write_digits(tmp_path / "inf.npz", images=images))


def test_labels_out_of_range_name_the_file(tmp_path):
  labels = np.arange(60) % 10
  labels[5] = 10
  path = write_digits(tmp_path / "labels.npz", labels=labels)
  config = short_digits_config(**{"data.path": path})
  assert_fails_before_writing(config, tmp_path / "run",
                              r"labels\.npz: 'labels': labels must lie in \[0, 10\), found values in \[0, 10\]")


def test_lengths_that_disagree_name_the_file(tmp_path):
  path = write_digits(tmp_path / "short.npz", labels=np.arange(59) % 10)
  with pytest.raises(InputError, match=r"short\.npz: row counts disagree: images has 60, labels has 59"):
    load_optdigits(path)


def test_missing_key_and_wrong_shape_and_not_npz(tmp_path):
  path = tmp_path / "nolabels.npz"
  np.savez(path, images=np.zeros((4, 8, 8)))
  with pytest.raises(InputError, match=r"nolabels\.npz: missing 'labels'"):
    load_optdigits(str(path))
  path = write_digits(tmp_path / "shape.npz", images=np.zeros((60, 9, 8)))
  with pytest.raises(InputError, match=r"shape\.npz: 'images' must have shape \(n, 8, 8\)"):
    load_optdigits(path)
  (tmp_path / "text.npz").write_text("not a zip")
  with pytest.raises(InputError, match=r"text\.npz: not a readable \.npz file"):
    load_optdigits(str(tmp_path / "text.npz"))
  with pytest.raises(InputError, match=r"absent\.npz: file not found"):
    load_optdigits(str(tmp_path / "absent.npz"))


def test_pickled_objects_are_never_loaded(tmp_path):
  path = tmp_path / "pickle.npz"
  np.savez(path, images=np.array([object()] * 4, dtype=object), labels=np.zeros(4))
  with pytest.raises(InputError, match=r"pickle\.npz: not a readable \.npz file"):
    load_optdigits(str(path))


def test_mfeat_disagreeing_views(tmp_path):
  path = tmp_path / "mfeat.npz"
  views = {v: np.zeros((10, 3), np.float32) for v in ("fou", "fac", "kar", "pix", "zer", "mor")}
  views["zer"] = np.zeros((9, 3), np.float32)
  np.savez(path, labels=np.arange(10) % 10, **views)
  with pytest.raises(InputError, match=r"mfeat\.npz: row counts disagree: .*zer has 9"):
    load_mfeat(str(path))


@pytest.mark.parametrize("field,value,match", [
    ("rrnet.k1", 2000, r"config\.rrnet\.k1: need 1 <= k1 < number of image nodes"),
    ("rrnet.k2", 10, r"config\.rrnet\.k2: need 1 <= k2 < number of label nodes \(10\)"),
    ("rrnet.num_candidates", 11, r"config\.rrnet\.num_candidates: need 1 <= K <= number of classes"),
    ("rrnet.units", "intra,sideways", r"config\.rrnet\.units: expected a comma-separated list"),
    ("rrnet.aggregation", "median", r"config\.rrnet\.aggregation: unknown 'median'"),
    ("rrnet.optimizer.name", "lion", r"config\.rrnet\.optimizer\.name: unknown optimizer 'lion'"),
    ("baseline.batch_size", 5000, r"config\.baseline\.batch_size: 5000 is larger than"),
    ("dtype", "float8", r"dtype: unknown dtype 'float8'"),
    ("data.test_fraction", 1.5, r"split fractions|config\.data\.test_fraction"),
])
def test_impossible_config_values_name_the_field(tmp_path, field, value, match):
  assert_fails_before_writing(short_digits_config(**{field: value}), tmp_path / "run", match)


def test_unknown_config_field_is_named(tmp_path):
  config = short_digits_config()
  config.unlock()
  config.rrnet.num_neighbours = 3
  assert_fails_before_writing(config, tmp_path / "run",
                              r"config\.rrnet\.num_neighbours: unknown config field")


def test_graph_builder_checks_shapes():
  features = np.random.default_rng(0).normal(size=(20, 4)).astype(np.float32)
  with pytest.raises(InputError, match=r"candidate_scores: expected shape \(20, 5\)"):
    classification_graph(features, np.eye(5, dtype=np.float32), np.ones((19, 5)), None,
                         k1=3, k2=2, num_candidates=2)
  with pytest.raises(InputError, match=r"k: need 1 <= k < number of nodes, got k=20"):
    classification_graph(features, np.eye(5, dtype=np.float32), np.ones((20, 5)), None,
                         k1=20, k2=2, num_candidates=2)
