"""Loaders for the data sets that ship inside the package (UCI, CC BY 4.0).

See `xmjax/data/assets/README.md` for provenance. Files are opened with
``allow_pickle=False``: loading never executes file content.
"""

from __future__ import annotations

import os
import zipfile
from importlib import resources
from typing import Sequence

import numpy as np

from xmjax.data import validate
from xmjax.errors import InputError

MFEAT_VIEWS = ("fou", "fac", "kar", "pix", "zer", "mor")
NUM_DIGIT_CLASSES = 10


def asset_path(name: str) -> str:
  """Absolute path of a shipped asset file."""
  return str(resources.files("xmjax.data") / "assets" / name)


def open_npz(path: str) -> dict[str, np.ndarray]:
  if not os.path.exists(path):
    raise InputError(f"{path}: file not found")
  try:
    with np.load(path, allow_pickle=False) as f:
      return {k: f[k] for k in f.files}
  except (zipfile.BadZipFile, OSError, ValueError, EOFError) as e:
    raise InputError(f"{path}: not a readable .npz file ({e})") from e


def load_optdigits(path: str | None = None) -> tuple[np.ndarray, np.ndarray]:
  """UCI optdigits 8x8 images.

  Args:
    path: an ``.npz`` with ``images`` (n, 8, 8) and ``labels`` (n,); default:
      the shipped file.

  Returns:
    images: (n, 8, 8, 1) float32 in [0, 1] (raw values 0..16 divided by 16).
    labels: (n,) int32 in [0, 10).
  """
  path = path or asset_path("uci_optdigits_8x8.npz")
  arrays = open_npz(path)
  validate.check_keys(path, arrays, ("images", "labels"))
  images, labels = arrays["images"], arrays["labels"]
  if images.ndim != 3 or images.shape[1:] != (8, 8):
    raise InputError(f"{path}: 'images' must have shape (n, 8, 8), got {images.shape}")
  validate.check_same_length(path, images=images, labels=labels)
  validate.check_finite(f"{path}: 'images'", images)
  validate.check_labels(f"{path}: 'labels'", labels, NUM_DIGIT_CLASSES)
  images = images.astype(np.float32)[..., None] / 16.0
  return images, labels.astype(np.int32)


def load_mfeat(path: str | None = None,
               views: Sequence[str] = MFEAT_VIEWS) -> tuple[dict[str, np.ndarray], np.ndarray]:
  """UCI Multiple Features: six views of the same 2000 digits.

  Returns:
    views: name -> (n, dim) float32, unstandardised (use `standardize` with
      training rows only).
    labels: (n,) int32 in [0, 10).
  """
  path = path or asset_path("uci_mfeat.npz")
  arrays = open_npz(path)
  validate.check_keys(path, arrays, tuple(views) + ("labels",))
  labels = arrays["labels"]
  out = {}
  for name in views:
    validate.check_rank(f"{path}: '{name}'", arrays[name], 2)
    validate.check_finite(f"{path}: '{name}'", arrays[name])
    out[name] = arrays[name].astype(np.float32)
  validate.check_same_length(path, labels=labels, **out)
  validate.check_labels(f"{path}: 'labels'", labels, NUM_DIGIT_CLASSES)
  return out, labels.astype(np.int32)


def load_label_embeddings(dataset: str, path: str | None = None) -> np.ndarray:
  """Label-node attributes, (classes, d) float32, in label order.

  Without `path`: the shipped MiniLM embeddings of `dataset`'s class names
  (`launch/embed_labels.py`). With `path`: the user's vectors (e.g.
  word2vec/GloVe of the class names), an `.npy` (classes, d) or an `.npz`
  with key `embeddings`.
  """
  if path is None:
    arrays = open_npz(asset_path("label_embeddings.npz"))
    if dataset not in arrays:
      shipped = sorted(k for k in arrays if k != "encoder" and not k.endswith("_names"))
      raise InputError(f"no shipped label embeddings for {dataset!r} (shipped: {shipped}); "
                       "set rrnet.label_features='file' and rrnet.label_embeddings")
    return arrays[dataset].astype(np.float32)
  if path.endswith(".npy"):
    if not os.path.exists(path):
      raise InputError(f"{path}: file not found")
    try:
      embeddings = np.load(path, allow_pickle=False)
    except (OSError, ValueError) as e:
      raise InputError(f"{path}: not a readable .npy file ({e})") from e
  else:
    arrays = open_npz(path)
    validate.check_keys(path, arrays, ("embeddings",))
    embeddings = arrays["embeddings"]
  validate.check_rank(f"{path}: embeddings", embeddings, 2)
  validate.check_finite(f"{path}: embeddings", embeddings)
  return embeddings.astype(np.float32)
