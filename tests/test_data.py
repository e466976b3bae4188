"""Shipped data sets and splits."""

import numpy as np
import pytest

from xmjax import InputError
from xmjax.data import MFEAT_VIEWS, load_mfeat, load_optdigits, standardize, stratified_split


def test_shipped_optdigits():
  images, labels = load_optdigits()
  assert images.shape == (1797, 8, 8, 1) and images.dtype == np.float32
  assert 0.0 <= images.min() and images.max() <= 1.0
  assert labels.shape == (1797,) and set(np.unique(labels)) == set(range(10))


def test_shipped_mfeat_has_six_views_of_2000_digits():
  views, labels = load_mfeat()
  assert tuple(views) == MFEAT_VIEWS
  dims = {name: v.shape[1] for name, v in views.items()}
  assert dims == {"fou": 76, "fac": 216, "kar": 64, "pix": 240, "zer": 47, "mor": 6}
  assert all(v.shape[0] == 2000 for v in views.values())
  np.testing.assert_array_equal(np.bincount(labels), np.full(10, 200))


def test_stratified_split_keeps_class_proportions_and_depends_only_on_seed():
  labels = np.repeat(np.arange(4), [100, 50, 30, 20])
  split = stratified_split(labels, {"train": 0.0, "val": 0.1, "test": 0.2}, seed=3)
  assert sorted(np.concatenate(list(split.values()))) == list(range(200))
  np.testing.assert_array_equal(np.bincount(labels[split["test"]]), [20, 10, 6, 4])
  np.testing.assert_array_equal(np.bincount(labels[split["val"]]), [10, 5, 3, 2])
  again = stratified_split(labels, {"train": 0.0, "val": 0.1, "test": 0.2}, seed=3)
  other = stratified_split(labels, {"train": 0.0, "val": 0.1, "test": 0.2}, seed=4)
  np.testing.assert_array_equal(split["test"], again["test"])
  assert not np.array_equal(split["test"], other["test"])
  with pytest.raises(InputError, match="split fractions"):
    stratified_split(labels, {"train": 0.0, "test": 1.0}, seed=0)


def test_standardize_uses_training_statistics_only():
  train = np.array([[0.0, 10.0], [2.0, 30.0]])
  test = np.array([[1.0, 20.0]])
  train_s, test_s = standardize(train, test)
  np.testing.assert_allclose(train_s.mean(0), 0.0, atol=1e-6)
  np.testing.assert_allclose(test_s, [[0.0, 0.0]], atol=1e-6)
