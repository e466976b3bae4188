"""Cross-modal retrieval data in the layouts of the papers' public code (docs/protocols.md).

Every loader returns a `RetrievalData`: for each split ("train", "valid",
"test") and each modality, a float32 feature matrix and int labels (0-based).
Nothing is unpickled; every array is checked (finite, 2-D, labels in range,
features and labels of equal length) and errors name the file and variable.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Sequence

import numpy as np

from xmjax.data import validate
from xmjax.data.shipped import MFEAT_VIEWS, load_mfeat
from xmjax.data.splits import standardize, stratified_split
from xmjax.errors import InputError

SPLITS = ("train", "valid", "test")


@dataclasses.dataclass
class RetrievalData:
  """split -> modality -> (features (n, d) float32, labels (n,) int32)."""
  splits: dict[str, dict[str, tuple[np.ndarray, np.ndarray]]]
  num_classes: int
  source: str

  @property
  def modalities(self) -> tuple[str, ...]:
    return tuple(self.splits["train"])

  def features(self, split: str, modality: str) -> np.ndarray:
    return self.splits[split][modality][0]

  def labels(self, split: str, modality: str) -> np.ndarray:
    return self.splits[split][modality][1]

  def dim(self, modality: str) -> int:
    return self.features("train", modality).shape[1]

  def select(self, modalities: Sequence[str]) -> "RetrievalData":
    missing = [m for m in modalities if m not in self.modalities]
    if missing:
      raise InputError(f"config.data.modalities: {missing} not in {self.source}, which has "
                       f"{list(self.modalities)}")
    return dataclasses.replace(self, splits={
        s: {m: self.splits[s][m] for m in modalities} for s in self.splits})

  def standardized(self) -> "RetrievalData":
    """Per-modality zero mean / unit variance with training statistics only."""
    out = {s: {} for s in self.splits}
    for m in self.modalities:
      parts = standardize(*(self.features(s, m) for s in SPLITS))
      for s, x in zip(SPLITS, parts):
        out[s][m] = (x.astype(np.float32), self.labels(s, m))
    return dataclasses.replace(self, splits=out)


def _finish(splits, source: str) -> RetrievalData:
  """Validates every array and fixes the class count."""
  num_classes = 1 + max(int(y.max()) for parts in splits.values() for _, y in parts.values()
                        if len(y))
  for split, parts in splits.items():
    for modality, (x, y) in parts.items():
      where = f"{source}: {split} {modality}"
      validate.check_rank(f"{where} features", x, 2)
      validate.check_same_length(where, features=x, labels=y)
      validate.check_finite(f"{where} features", x)
      validate.check_labels(f"{where} labels", y, num_classes)
  dims = {m: {splits[s][m][0].shape[1] for s in splits} for m in splits["train"]}
  for m, d in dims.items():
    if len(d) > 1:
      raise InputError(f"{source}: {m} feature dimension differs between splits: {sorted(d)}")
  return RetrievalData(splits=splits, num_classes=num_classes, source=source)


def _labels_vector(name: str, y: np.ndarray) -> np.ndarray:
  y = np.asarray(y)
  if y.ndim == 2 and 1 in y.shape:
    y = y.reshape(-1)
  if y.ndim != 1:
    raise InputError(f"{name}: expected a label vector, got shape {y.shape}")
  if np.issubdtype(y.dtype, np.floating):
    if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
      raise InputError(f"{name}: labels must be integers")
  return y.astype(np.int64)


# ----------------------------------------------------------------------------
# SDML-style HDF5 (*.h5py): Wikipedia, NUS-WIDE, MS-COCO, XMediaNet.


def load_sdml_h5(path: str, valid_len: int) -> RetrievalData:
  """Datasets train_imgs_deep, train_imgs_labels, train_text(s), train_texts_labels
  and test_*; validation = the first `valid_len` test rows; labels shifted to
  start at 0."""
  import h5py
  if not os.path.exists(path):
    raise InputError(f"{path}: file not found")
  try:
    f = h5py.File(path, "r")
  except OSError as e:
    raise InputError(f"{path}: not a readable HDF5 file ({e})") from e
  with f:
    raw = {}
    for split in ("train", "test"):
      text_key = next((k for k in (f"{split}_text", f"{split}_texts") if k in f), None)
      needed = [f"{split}_imgs_deep", f"{split}_imgs_labels", f"{split}_texts_labels"]
      missing = [k for k in needed if k not in f] + ([] if text_key else [f"{split}_text"])
      if missing:
        raise InputError(f"{path}: missing HDF5 dataset(s) {missing}; found {sorted(f.keys())}")
      raw[split] = {
          "image": (np.asarray(f[f"{split}_imgs_deep"], np.float32),
                    _labels_vector(f"{path}: {split}_imgs_labels", f[f"{split}_imgs_labels"][()])),
          "text": (np.asarray(f[text_key], np.float32),
                   _labels_vector(f"{path}: {split}_texts_labels", f[f"{split}_texts_labels"][()])),
      }
  for split, parts in raw.items():
    n_image, n_text = len(parts["image"][1]), len(parts["text"][1])
    if n_image != n_text:  # One text per image in this layout.
      raise InputError(f"{path}: {split} image and text counts disagree ({n_image} images, "
                       f"{n_text} texts); this layout pairs them row by row")
  shift = min(int(y.min()) for parts in raw.values() for _, y in parts.values() if len(y))
  n_test = min(len(y) for _, y in raw["test"].values())
  if not 0 < valid_len < n_test:
    raise InputError(f"config.data.valid_len: need 0 < valid_len < {n_test} test rows of {path}, "
                     f"got {valid_len}")
  splits = {"train": {}, "valid": {}, "test": {}}
  for m in ("image", "text"):
    x, y = raw["train"][m]
    splits["train"][m] = (x, (y - shift).astype(np.int32))
    x, y = raw["test"][m]
    splits["valid"][m] = (x[:valid_len], (y[:valid_len] - shift).astype(np.int32))
    splits["test"][m] = (x[valid_len:], (y[valid_len:] - shift).astype(np.int32))
  return _finish(splits, path)


# ----------------------------------------------------------------------------
# MATLAB files (PKU XMedia, DSCMR-style Pascal Sentences).


def read_mat(path: str) -> dict[str, np.ndarray]:
  """Variables of a .mat file: scipy for v4-v7, h5py for v7.3 (HDF5).

  Arrays from v7.3 files come back in MATLAB's column-major order, i.e.
  transposed; callers orient them by their sample count.
  """
  if not os.path.exists(path):
    raise InputError(f"{path}: file not found")
  import h5py
  import scipy.io
  if h5py.is_hdf5(path):  # MATLAB v7.3 files are HDF5.
    with h5py.File(path, "r") as f:
      return {k: np.asarray(f[k]) for k in f.keys() if isinstance(f[k], h5py.Dataset)}
  try:
    data = scipy.io.loadmat(path)
  except Exception as e:  # scipy raises several types (MatReadError, ValueError, ...).
    raise InputError(f"{path}: not a readable MATLAB file ({type(e).__name__}: {e})") from e
  return {k: v for k, v in data.items() if not k.startswith("__")}


def mat_variable(path, variables, name):
  if name not in variables:
    raise InputError(f"{path}: missing MATLAB variable {name!r}; found {sorted(variables)}")
  return variables[name]


def _oriented(path, name, x, n):
  """Rows = samples: transposes a (d, n) array (v7.3 files) when needed."""
  x = np.asarray(x, np.float32)
  if x.ndim == 2 and x.shape[0] != n and x.shape[1] == n:
    x = x.T
  if x.ndim != 2 or x.shape[0] != n:
    raise InputError(f"{path}: variable {name!r} has shape {x.shape}, expected {n} rows "
                     "(one per label)")
  return x


XMEDIA_MODALITIES = {
    # name: (train features, test features, train labels, test labels, test rows)
    "image": ("I_tr_CNN", "I_te_CNN", "trImgCat", "teImgCat", 500),
    "text": ("T_tr_BOW", "T_te_BOW", "trTxtCat", "teTxtCat", 500),
    "audio": ("A_tr", "A_te", "trAudCat", "teAudCat", 100),
    "3d": ("d3_tr", "d3_te", "tr3dCat", "te3dCat", 50),
    "video": ("V_tr_CNN", "V_te_CNN", "trVidCat", "teVidCat", 87),
}


def load_xmedia_mat(path: str) -> RetrievalData:
  """PKU XMedia `XMediaFeatures.mat`: 5 modalities, 1-based labels, 20 classes.

  Each test set's first rows are the test split (image/text 500, audio 100,
  3D 50, video 87); the remaining rows are the validation split.
  """
  variables = read_mat(path)
  splits = {"train": {}, "valid": {}, "test": {}}
  for m, (xtr, xte, ytr, yte, n_test) in XMEDIA_MODALITIES.items():
    y_train = _labels_vector(f"{path}: {ytr}", mat_variable(path, variables, ytr)) - 1
    y_test = _labels_vector(f"{path}: {yte}", mat_variable(path, variables, yte)) - 1
    x_train = _oriented(path, xtr, mat_variable(path, variables, xtr), len(y_train))
    x_test = _oriented(path, xte, mat_variable(path, variables, xte), len(y_test))
    if len(y_test) <= n_test:
      raise InputError(f"{path}: {xte} has {len(y_test)} rows; the protocol takes the first "
                       f"{n_test} as test and needs more for validation")
    splits["train"][m] = (x_train, y_train.astype(np.int32))
    splits["test"][m] = (x_test[:n_test], y_test[:n_test].astype(np.int32))
    splits["valid"][m] = (x_test[n_test:], y_test[n_test:].astype(np.int32))
  return _finish(splits, path)


def load_pascal_dir(directory: str, valid_fraction: float, seed: int) -> RetrievalData:
  """DSCMR-style Pascal Sentences: `{train,test}_{img,txt}.mat` and
  `{train,test}_img_lab.mat` (and `_txt_lab.mat` if text labels differ), one
  variable per file named like the file stem. Validation rows are a seeded,
  stratified part of the training rows (the layout has no validation split)."""
  raw = {}
  for split in ("train", "test"):
    lab_file = os.path.join(directory, f"{split}_img_lab.mat")
    img_lab = _labels_vector(lab_file, mat_variable(lab_file, read_mat(lab_file), f"{split}_img_lab"))
    txt_lab_file = os.path.join(directory, f"{split}_txt_lab.mat")
    txt_lab = img_lab
    if os.path.exists(txt_lab_file):
      txt_lab = _labels_vector(txt_lab_file, mat_variable(txt_lab_file, read_mat(txt_lab_file),
                                                       f"{split}_txt_lab"))
    raw[split] = {}
    for m, stem, y in (("image", f"{split}_img", img_lab), ("text", f"{split}_txt", txt_lab)):
      file = os.path.join(directory, f"{stem}.mat")
      raw[split][m] = (_oriented(file, stem, mat_variable(file, read_mat(file), stem), len(y)),
                       y.astype(np.int32))
  train_rows = len(raw["train"]["image"][1])
  if len(raw["train"]["text"][1]) != train_rows:
    raise InputError(f"{directory}: train_img.mat has {train_rows} rows but train_txt.mat has "
                     f"{len(raw['train']['text'][1])}")
  parts = stratified_split(raw["train"]["image"][1], {"train": 0.0, "valid": valid_fraction}, seed)
  splits = {"train": {}, "valid": {}, "test": raw["test"]}
  for m, (x, y) in raw["train"].items():
    splits["train"][m] = (x[parts["train"]], y[parts["train"]])
    splits["valid"][m] = (x[parts["valid"]], y[parts["valid"]])
  return _finish(splits, directory)


# ----------------------------------------------------------------------------
# The Wikipedia cross-modal set (Rasiwasia et al., ACM MM 2010): 2,866
# image-text pairs in 10 categories, the classic shallow features.

WIKIPEDIA_FEATURES = {"image": ("I_tr", "I_te"), "text": ("T_tr", "T_te")}
WIKIPEDIA_LISTS = {"train": "trainset_txt_img_cat.list", "test": "testset_txt_img_cat.list"}


def read_wikipedia_list(path: str, num_categories: int | None = None) -> np.ndarray:
  """The 1-based category column of a `<text id> <image id> <category>`
  list (tab or space separated), as 0-based int32 labels."""
  if not os.path.exists(path):
    raise InputError(f"{path}: file not found")
  labels = []
  with open(path) as f:
    for number, line in enumerate(f, 1):
      if not line.strip():
        continue
      fields = line.split()
      if len(fields) != 3:
        raise InputError(f"{path}: line {number}: expected 3 columns 'text_id image_id "
                         f"category', got {len(fields)}")
      try:
        label = int(fields[2])
      except ValueError:
        raise InputError(f"{path}: line {number}: category {fields[2]!r} is not an "
                         f"integer") from None
      if label < 1 or (num_categories and label > num_categories):
        raise InputError(f"{path}: line {number}: category {label} outside 1.."
                         f"{num_categories or 'N'}")
      labels.append(label - 1)
  if not labels:
    raise InputError(f"{path}: no rows")
  return np.asarray(labels, np.int32)


def load_wikipedia_dir(directory: str, valid_fraction: float, seed: int,
                       features_file: str = "raw_features.mat") -> RetrievalData:
  """`raw_features.mat` (I_tr, I_te: 128-d SIFT bag of words; T_tr, T_te:
  10-d LDA topics; MATLAB v5 or v7.3) with the labels of
  `trainset_txt_img_cat.list` / `testset_txt_img_cat.list` (the official
  2,173 / 693 split; `categories.list`, when present, bounds the labels).
  Each list must have as many rows as both of its split's feature
  matrices, and the two lists the same categories. Validation rows are a
  seeded stratified `valid_fraction` of the training rows (the layout has
  none), fixed by (valid_fraction, seed)."""
  features_path = os.path.join(directory, features_file)
  variables = read_mat(features_path)
  categories_path = os.path.join(directory, "categories.list")
  num_categories = None
  if os.path.exists(categories_path):
    with open(categories_path) as f:
      num_categories = sum(1 for line in f if line.strip())
  labels = {split: read_wikipedia_list(os.path.join(directory, name), num_categories)
            for split, name in WIKIPEDIA_LISTS.items()}
  if set(np.unique(labels["train"])) != set(np.unique(labels["test"])):
    only = sorted(set(np.unique(labels["train"])) ^ set(np.unique(labels["test"])))
    raise InputError(f"{os.path.join(directory, WIKIPEDIA_LISTS['test'])}: categories "
                     f"{[c + 1 for c in only]} are in only one of the two lists")
  raw = {"train": {}, "test": {}}
  for modality, names in WIKIPEDIA_FEATURES.items():
    for split, name in zip(("train", "test"), names):
      x = np.asarray(mat_variable(features_path, variables, name))
      n = len(labels[split])
      if x.ndim == 2 and n not in x.shape:
        raise InputError(f"{features_path}: {name} has shape {x.shape} but "
                         f"{WIKIPEDIA_LISTS[split]} lists {n} pairs")
      raw[split][modality] = (_oriented(features_path, name, x, n), labels[split])
  parts = stratified_split(labels["train"], {"train": 0.0, "valid": valid_fraction}, seed)
  splits = {"train": {}, "valid": {}, "test": raw["test"]}
  for m, (x, y) in raw["train"].items():
    splits["train"][m] = (x[parts["train"]], y[parts["train"]])
    splits["valid"][m] = (x[parts["valid"]], y[parts["valid"]])
  return _finish(splits, directory)


# ----------------------------------------------------------------------------
# The shipped UCI Multiple Features set: six views of the same 2000 digits.


def load_mfeat_retrieval(valid_fraction: float, test_fraction: float, seed: int,
                         path: str | None = None,
                         views: Sequence[str] = MFEAT_VIEWS) -> RetrievalData:
  """Seeded stratified train/valid/test split of the shipped views (unstandardised)."""
  features, labels = load_mfeat(path, views)
  parts = stratified_split(labels, {"train": 0.0, "valid": valid_fraction,
                                    "test": test_fraction}, seed)
  splits = {s: {v: (features[v][rows], labels[rows]) for v in views} for s, rows in parts.items()}
  return _finish(splits, path or "shipped uci_mfeat.npz")
