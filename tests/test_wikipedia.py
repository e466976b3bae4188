"""The Wikipedia cross-modal layout (raw_features.mat + the two .list files):
the loader on small files written here (MATLAB v5 and v7.3), its errors
naming the file, and the shipped configs on the real files when present."""

import os

import h5py
import numpy as np
import pytest
import scipy.io

from conftest import ROOT, load_config, set_fields
from xmjax import InputError
from xmjax.data.retrieval import load_wikipedia_dir
from xmjax.train import train_and_evaluate

REAL = os.path.join(os.path.dirname(ROOT), "shared", "data", "real", "wikipedia")


def write_wikipedia(directory, n_train=40, n_test=20, v73=False, train_labels=None):
  rng = np.random.default_rng(0)
  os.makedirs(directory, exist_ok=True)
  labels = {"train": train_labels if train_labels is not None else np.arange(n_train) % 4 + 1,
            "test": np.arange(n_test) % 4 + 1}
  arrays = {"I_tr": rng.random((n_train, 6)), "I_te": rng.random((n_test, 6)),
            "T_tr": rng.random((n_train, 3)), "T_te": rng.random((n_test, 3))}
  path = os.path.join(directory, "raw_features.mat")
  if v73:   # HDF5, column-major as MATLAB writes it: each variable transposed
    with h5py.File(path, "w") as f:
      for name, x in arrays.items():
        f[name] = x.T
  else:
    scipy.io.savemat(path, arrays)
  for split, name in (("train", "trainset_txt_img_cat.list"),
                      ("test", "testset_txt_img_cat.list")):
    with open(os.path.join(directory, name), "w") as f:
      for i, label in enumerate(labels[split]):
        f.write(f"t{split}{i}\ti{split}{i}\t{label}\n")
  with open(os.path.join(directory, "categories.list"), "w") as f:
    f.write("".join(f"c{i}\n" for i in range(4)))
  return arrays, labels


@pytest.mark.parametrize("v73", [False, True])
def test_loader_reads_the_official_split_and_carves_a_stratified_validation(tmp_path, v73):
  arrays, labels = write_wikipedia(tmp_path, v73=v73)
  data = load_wikipedia_dir(str(tmp_path), valid_fraction=0.25, seed=0)
  assert data.modalities == ("image", "text") and data.num_classes == 4
  np.testing.assert_allclose(data.features("test", "image"), arrays["I_te"], rtol=1e-6)
  np.testing.assert_array_equal(data.labels("test", "text"), labels["test"] - 1)
  n_valid, n_train = len(data.labels("valid", "image")), len(data.labels("train", "image"))
  assert (n_valid, n_train) == (8, 32)          # 25% of each category's 10, rounded down
  assert np.bincount(data.labels("valid", "image")).tolist() == [2, 2, 2, 2]
  # Train and valid rows are the training pairs, each once, images and texts aligned.
  rows = np.concatenate([data.features("train", "text"), data.features("valid", "text")])
  assert sorted(map(tuple, rows.round(6))) == sorted(map(tuple, arrays["T_tr"].astype(
      np.float32).round(6)))
  again = load_wikipedia_dir(str(tmp_path), valid_fraction=0.25, seed=0)
  np.testing.assert_array_equal(again.features("valid", "image"), data.features("valid", "image"))


def test_malformed_wikipedia_files_name_the_file(tmp_path):
  write_wikipedia(tmp_path / "short", train_labels=np.arange(39) % 4 + 1)
  with pytest.raises(InputError, match=r"raw_features\.mat: I_tr has shape \(40, 6\) but "
                     r"trainset_txt_img_cat\.list lists 39 pairs"):
    load_wikipedia_dir(str(tmp_path / "short"), 0.1, 0)
  write_wikipedia(tmp_path / "range", train_labels=np.arange(40) % 5 + 1)
  with pytest.raises(InputError, match=r"trainset_txt_img_cat\.list: line 5: category 5 "
                     r"outside 1\.\.4"):
    load_wikipedia_dir(str(tmp_path / "range"), 0.1, 0)
  write_wikipedia(tmp_path / "cols")
  with open(tmp_path / "cols" / "testset_txt_img_cat.list", "a") as f:
    f.write("only two\n")
  with pytest.raises(InputError, match=r"testset_txt_img_cat\.list: line 21: expected 3 "
                     r"columns"):
    load_wikipedia_dir(str(tmp_path / "cols"), 0.1, 0)
  write_wikipedia(tmp_path / "missing")
  scipy.io.savemat(tmp_path / "missing" / "raw_features.mat", {"I_tr": np.zeros((40, 6))})
  with pytest.raises(InputError, match=r"raw_features\.mat: missing MATLAB variable 'I_te'"):
    load_wikipedia_dir(str(tmp_path / "missing"), 0.1, 0)
  os.remove(tmp_path / "missing" / "trainset_txt_img_cat.list")
  with pytest.raises(InputError, match=r"trainset_txt_img_cat\.list: file not found"):
    load_wikipedia_dir(str(tmp_path / "missing"), 0.1, 0)


@pytest.mark.skipif(not os.path.isdir(REAL), reason=f"{REAL} not present (real data)")
@pytest.mark.parametrize("name", ["drsl_wikipedia_shallow", "sdml_wikipedia_shallow"])
def test_shallow_wikipedia_configs_run_on_the_real_files(tmp_path, name):
  config = set_fields(load_config(name), **{"data.dir": REAL, "train.num_epochs": 2})
  results = train_and_evaluate(config, str(tmp_path))
  model = name.split("_")[0]
  for prefix in (model, "cca", "linear") + (("drsl_cosine",) if model == "drsl" else ()):
    assert 0.05 < results[f"{prefix}/map_mean"] < 1.0, prefix
  assert results[f"{model}/valid_map_mean"] > 0
