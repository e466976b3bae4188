"""Loaders of the retrieval layouts, on files written in those layouts."""

import numpy as np
import pytest
import scipy.io

from retrieval_files import (XMEDIA_DIMS, XMEDIA_TEST_ROWS, write_pascal_dir, write_sdml_h5,
                             write_xmedia_mat)
from xmjax import InputError
from xmjax.data.retrieval import (load_mfeat_retrieval, load_pascal_dir, load_sdml_h5,
                                  load_xmedia_mat)


@pytest.mark.parametrize("text_key", ["train_text", "train_texts"])
def test_sdml_h5_splits_and_label_shift(tmp_path, text_key):
  path = write_sdml_h5(tmp_path / "wiki.h5py", text_key=text_key, first_label=1)
  data = load_sdml_h5(path, valid_len=30)
  assert data.modalities == ("image", "text") and data.num_classes == 4
  assert data.features("train", "image").shape == (120, 32)
  assert data.features("valid", "text").shape == (30, 12)
  assert data.features("test", "image").shape == (50, 32)
  assert data.labels("train", "image").min() == 0          # 1-based file shifted to 0
  with h5py_file(path) as f:
    raw_test = np.asarray(f["test_imgs_deep"])
  np.testing.assert_array_equal(data.features("valid", "image"), raw_test[:30])
  np.testing.assert_array_equal(data.features("test", "image"), raw_test[30:])


def h5py_file(path):
  import h5py
  return h5py.File(path, "r")


@pytest.mark.parametrize("v73", [False, True])
def test_xmedia_mat_five_modalities_and_protocol_slices(tmp_path, v73):
  path = write_xmedia_mat(tmp_path / "XMediaFeatures.mat", v73=v73)
  data = load_xmedia_mat(path)
  assert data.modalities == ("image", "text", "audio", "3d", "video")
  assert data.num_classes == 20
  for m in data.modalities:
    assert data.features("train", m).shape == (150, XMEDIA_DIMS[m])
    assert len(data.labels("test", m)) == XMEDIA_TEST_ROWS[m]
    assert len(data.labels("valid", m)) == 30
    assert data.labels("train", m).min() >= 0 and data.labels("train", m).max() <= 19


def test_pascal_dir(tmp_path):
  directory = write_pascal_dir(tmp_path / "pascal")
  data = load_pascal_dir(directory, valid_fraction=0.25, seed=0)
  assert data.features("train", "image").shape == (60, 40)
  assert data.features("valid", "text").shape == (20, 30)
  assert data.features("test", "image").shape == (40, 40)
  np.testing.assert_array_equal(data.labels("train", "image"), data.labels("train", "text"))


def test_mfeat_retrieval_split_and_standardisation():
  data = load_mfeat_retrieval(0.1, 0.2, seed=0).standardized()
  assert len(data.modalities) == 6
  assert len(data.labels("train", "pix")) == 1400 and len(data.labels("test", "pix")) == 400
  np.testing.assert_allclose(data.features("train", "fac").mean(0), 0, atol=1e-4)
  assert abs(float(data.features("test", "fac").mean())) > 1e-4  # test statistics not used


def test_missing_h5_dataset_is_named(tmp_path):
  path = write_sdml_h5(tmp_path / "bad.h5py", drop=("test_texts_labels",))
  with pytest.raises(InputError, match=r"bad\.h5py: missing HDF5 dataset\(s\) \['test_texts_labels'\]"):
    load_sdml_h5(path, valid_len=10)


def test_nan_features_and_count_mismatch_are_named(tmp_path):
  path = tmp_path / "XMediaFeatures.mat"
  write_xmedia_mat(path)
  variables = scipy.io.loadmat(path)
  variables["A_tr"][3, 2] = np.nan
  scipy.io.savemat(path, {k: v for k, v in variables.items() if not k.startswith("__")})
  with pytest.raises(InputError, match=r"XMediaFeatures\.mat: train audio features: 1 NaN/Inf"):
    load_xmedia_mat(str(path))
  variables["A_tr"] = variables["A_tr"][:-1]
  variables["A_tr"][3, 2] = 0
  scipy.io.savemat(path, {k: v for k, v in variables.items() if not k.startswith("__")})
  with pytest.raises(InputError, match=r"variable 'A_tr' has shape \(149, 29\), expected 150 rows"):
    load_xmedia_mat(str(path))


def test_missing_mat_variable_and_wrong_file_type(tmp_path):
  path = write_xmedia_mat(tmp_path / "XMediaFeatures.mat", drop=("teVidCat",))
  with pytest.raises(InputError, match=r"missing MATLAB variable 'teVidCat'"):
    load_xmedia_mat(path)
  (tmp_path / "junk.mat").write_text("not matlab")
  with pytest.raises(InputError, match=r"junk\.mat: not a readable MATLAB file"):
    load_xmedia_mat(str(tmp_path / "junk.mat"))
  (tmp_path / "junk.h5py").write_text("not hdf5")
  with pytest.raises(InputError, match=r"junk\.h5py: not a readable HDF5 file"):
    load_sdml_h5(str(tmp_path / "junk.h5py"), valid_len=1)


def test_labels_out_of_range_and_non_integer(tmp_path):
  directory = write_pascal_dir(tmp_path / "p")
  scipy.io.savemat(tmp_path / "p" / "test_img_lab.mat",
                   {"test_img_lab": np.full((40, 1), 0.5)})
  with pytest.raises(InputError, match=r"test_img_lab\.mat: labels must be integers"):
    load_pascal_dir(directory, 0.25, 0)
  scipy.io.savemat(tmp_path / "p" / "test_img_lab.mat", {"test_img_lab": -np.ones((40, 1))})
  with pytest.raises(InputError, match=r"test image labels: labels must lie in"):
    load_pascal_dir(directory, 0.25, 0)


def test_valid_len_must_leave_test_rows(tmp_path):
  path = write_sdml_h5(tmp_path / "w.h5py", n_test=40)
  with pytest.raises(InputError, match=r"config\.data\.valid_len: need 0 < valid_len < 40"):
    load_sdml_h5(path, valid_len=40)


def test_modalities_that_disagree_in_count_are_named(tmp_path):
  import h5py
  path = write_sdml_h5(tmp_path / "pairs.h5py")
  with h5py.File(path, "a") as f:
    text = np.asarray(f["train_text"])[:-3]
    labels = np.asarray(f["train_texts_labels"])[:-3]
    del f["train_text"], f["train_texts_labels"]
    f["train_text"], f["train_texts_labels"] = text, labels
  with pytest.raises(InputError, match=r"pairs\.h5py: train image and text counts disagree \(120 images, 117 texts\)"):
    load_sdml_h5(path, valid_len=10)
