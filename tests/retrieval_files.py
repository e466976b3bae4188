"""Writers of small files in the papers' real layouts (PROTOCOLS.md), for tests."""

import os

import h5py
import numpy as np
import scipy.io


def _clustered(rng, labels, dim, noise=0.5):
  centers = rng.normal(size=(labels.max() + 1, dim))
  return (centers[labels] + noise * rng.normal(size=(len(labels), dim))).astype(np.float32)


def write_sdml_h5(path, *, n_train=120, n_test=80, classes=4, image_dim=32, text_dim=12,
                  text_key="train_text", first_label=1, seed=0, drop=()):
  """SDML-style HDF5: {train,test}_imgs_deep, _imgs_labels, _text(s), _texts_labels."""
  rng = np.random.default_rng(seed)
  with h5py.File(path, "w") as f:
    for split, n in (("train", n_train), ("test", n_test)):
      labels = rng.integers(0, classes, n)
      items = {
          f"{split}_imgs_deep": _clustered(rng, labels, image_dim),
          f"{split}_imgs_labels": (labels + first_label).reshape(-1, 1),
          text_key.replace("train", split): _clustered(rng, labels, text_dim),
          f"{split}_texts_labels": (labels + first_label).reshape(-1, 1),
      }
      for name, value in items.items():
        if name not in drop:
          f[name] = value
  return str(path)


XMEDIA_TEST_ROWS = {"image": 500, "text": 500, "audio": 100, "3d": 50, "video": 87}
XMEDIA_DIMS = {"image": 24, "text": 30, "audio": 29, "3d": 20, "video": 24}


def write_xmedia_mat(path, *, n_train=150, classes=20, v73=False, seed=0, drop=()):
  """XMediaFeatures.mat with 1-based labels; each test set just over its test rows."""
  from xmjax.data.retrieval import XMEDIA_MODALITIES
  rng = np.random.default_rng(seed)
  variables = {}
  for m, (xtr, xte, ytr, yte, n_test) in XMEDIA_MODALITIES.items():
    for xname, yname, n in ((xtr, ytr, n_train), (xte, yte, n_test + 30)):
      labels = rng.integers(0, classes, n)
      variables[xname] = _clustered(rng, labels, XMEDIA_DIMS[m])
      variables[yname] = (labels + 1).reshape(-1, 1).astype(np.float64)
  for name in drop:
    variables.pop(name)
  if v73:  # MATLAB v7.3 is HDF5 with column-major (transposed) arrays.
    with h5py.File(path, "w") as f:
      for name, value in variables.items():
        f[name] = value.T
  else:
    scipy.io.savemat(path, variables)
  return str(path)


def write_pascal_dir(directory, *, n_train=80, n_test=40, classes=20, image_dim=40, text_dim=30,
                     seed=0):
  """DSCMR Pascal layout: one variable per .mat file, named like the file."""
  os.makedirs(directory, exist_ok=True)
  rng = np.random.default_rng(seed)
  for split, n in (("train", n_train), ("test", n_test)):
    labels = np.arange(n) % classes
    files = {f"{split}_img": _clustered(rng, labels, image_dim),
             f"{split}_txt": _clustered(rng, labels, text_dim),
             f"{split}_img_lab": labels.reshape(-1, 1).astype(np.int64)}
    for stem, value in files.items():
      scipy.io.savemat(os.path.join(directory, f"{stem}.mat"), {stem: value})
  return str(directory)
