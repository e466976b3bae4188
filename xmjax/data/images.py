"""Classification data for the RR-Net classification task: the shipped UCI
digits, the shipped UCI Multiple Features (feature vectors), CIFAR-10/100
from TFDS or from an image folder (`data.path`: `<split>/<class>/<image>`,
a directory or a .tar.gz), or ESC-10/50 spectrograms with one of ESC's five
folds as the test split (`data.test_fold`), split into the parts the task
trains and evaluates on, with the per-channel (per-feature) statistics of
the baseline rows."""

from __future__ import annotations

import dataclasses

import ml_collections
import numpy as np

from xmjax.configs.fields import comma_list
from xmjax.data.class_names import CIFAR10, CIFAR100
from xmjax.data.esc_spectrograms import ESC_SETS, load_esc_spectrograms
from xmjax.data.image_folder import LabeledImages, load_image_folder
from xmjax.data.shipped import MFEAT_VIEWS, load_mfeat, load_optdigits
from xmjax.data.splits import stratified_split
from xmjax.data.tfds_images import IMAGE_DATASETS, load_tfds_split
from xmjax.errors import InputError

__all__ = ["ClassificationData", "DATASETS", "LabeledImages", "load_data"]


# The shipped sets, split by seeded stratified fractions (test_fraction);
# the TFDS sets keep their official test split.
SHIPPED = ("optdigits", "mfeat")
DATASETS = SHIPPED + tuple(IMAGE_DATASETS) + tuple(ESC_SETS)
_FOLDER_CLASSES = {"cifar10": CIFAR10, "cifar100": CIFAR100}


def _mfeat_features(d):
  views = list(comma_list(d.views)) or list(MFEAT_VIEWS)
  unknown = [v for v in views if v not in MFEAT_VIEWS]
  if unknown:
    raise InputError(f"config.data.views: {unknown} not in {list(MFEAT_VIEWS)}")
  features, labels = load_mfeat(d.path or None, views)
  return np.concatenate([features[v] for v in views], axis=1), labels


@dataclasses.dataclass(frozen=True)
class ClassificationData:
  """The parts the RR-Net classification task trains and evaluates on.

  baseline: the rows the CNN trains on; train: RR-Net's training graph (the
    baseline's rows unless data.holdout_fraction > 0); test; valid (None
    unless data.valid_fraction > 0).
  rows: each part's row indices into the loaded set (written to the
    workdir as data_split.npz).
  pixel_mean, pixel_std: per channel (per feature for feature vectors), of
    the baseline rows only; the CNN normalises with them.
  """
  baseline: LabeledImages
  train: LabeledImages
  test: LabeledImages
  valid: LabeledImages | None
  num_classes: int
  rows: dict[str, np.ndarray]
  pixel_mean: np.ndarray
  pixel_std: np.ndarray

  @property
  def graph_parts(self) -> tuple[str, ...]:
    """The parts that get a graph: train, test, and valid when there is one."""
    return ("train", "test") + (("valid",) if self.valid is not None else ())

  def part(self, name: str) -> LabeledImages:
    if name not in ("baseline",) + self.graph_parts:
      raise KeyError(f"no {name!r} part (have baseline, {', '.join(self.graph_parts)})")
    return getattr(self, name)


def load_data(config: ml_collections.ConfigDict) -> ClassificationData:
  """The parts per config.data (see ClassificationData)."""
  d = config.data
  if d.name not in DATASETS:
    raise InputError(f"config.data.name: unknown data set {d.name!r} for this experiment; "
                     f"choose one of {DATASETS}")
  for field in ("fake_examples", "fake_test_examples"):
    if d[field] < 0:
      raise InputError(f"config.data.{field}: must be >= 0, got {d[field]}")
  if d.name in SHIPPED:
    if not 0 < d.test_fraction < 1:
      raise InputError(f"config.data.test_fraction: must be in (0, 1), got {d.test_fraction}")
    images, labels = (load_optdigits(d.path or None) if d.name == "optdigits"
                      else _mfeat_features(d))
    num_classes = 10
    fractions = {"baseline": 0.0, "test": d.test_fraction}
  else:
    if d.name in ESC_SETS:
      train, test, num_classes = _esc_fold(d)
    else:
      train, test = _official_image_splits(d)
      num_classes = IMAGE_DATASETS[d.name][1]
    images, labels = (np.concatenate(pair) for pair in zip(train, test))
    fractions = {"baseline": 0.0}
  _check_fractions(d)
  if d.valid_fraction > 0:
    fractions["valid"] = d.valid_fraction
  if d.name in SHIPPED:
    split = stratified_split(labels, fractions, d.split_seed)
  else:  # the official test split stays the test split
    num_train = len(train[1])
    split = stratified_split(labels[:num_train], fractions, d.split_seed)
    split["test"] = np.arange(num_train, len(labels))
  split = _holdout(d, labels, split)
  whole = LabeledImages(images, labels)
  parts = {part: whole.take(rows) for part, rows in split.items()}
  if d.name == "optdigits":  # already in [0, 1]
    mean, std = np.zeros((1,), np.float32), np.ones((1,), np.float32)
  else:  # per channel (images) or per feature (mfeat), baseline rows only
    pixels = parts["baseline"].images.reshape(-1, images.shape[-1]).astype(np.float64)
    mean = pixels.mean(0).astype(np.float32)
    std = np.maximum(pixels.std(0), 1e-3).astype(np.float32)
  return ClassificationData(
      baseline=parts["baseline"], train=parts["train"], test=parts["test"],
      valid=parts.get("valid"), num_classes=num_classes, rows=split,
      pixel_mean=mean, pixel_std=std)


def _official_image_splits(d):
  """CIFAR's (images, labels) of train and test: from the image folder in
  `data.path` when set, else from TFDS."""
  if d.path:
    if d.fake_examples:
      raise InputError("config.data.fake_examples: generated examples replace TFDS files; "
                       "leave data.path empty to use them")
    folder = load_image_folder(d.path, ("train", "test"), _FOLDER_CLASSES[d.name],
                               tuple(d.image_size) or None, d.cache_dir, d.max_per_class)
    shape = IMAGE_DATASETS[d.name][0]
    found = folder.splits["train"].images.shape[1:]
    if found != shape and not d.image_size:
      raise InputError(f"config.data.path: {d.path} holds images of {found}, expected "
                       f"{d.name}'s {shape}")
    return [(folder.splits[part].images, folder.splits[part].labels)
            for part in ("train", "test")]
  train = load_tfds_split(d.name, "train", d.data_dir, d.fake_examples)
  test = load_tfds_split(d.name, "test", d.data_dir,
                         d.fake_test_examples or d.fake_examples if d.fake_examples else 0)
  return train, test


def _esc_fold(d):
  """ESC spectrograms as (F, T, 1) float images: the folds other than
  `data.test_fold` train, that fold tests (ESC's leave-one-fold-out)."""
  if not d.path:
    raise InputError(f"config.data.path: set it to the ESC spectrogram folder (a directory or "
                     f".tar.gz of <NNN - Class>/<fold>-<clip>-<take>.tif) for {d.name}")
  if not 1 <= d.test_fold <= 5:
    raise InputError(f"config.data.test_fold: ESC has folds 1..5, got {d.test_fold}")
  clips = load_esc_spectrograms(d.path, d.name, d.cache_dir)
  images = clips.spectrograms[..., None]
  test = clips.folds == d.test_fold
  return ((images[~test], clips.labels[~test]), (images[test], clips.labels[test]),
          len(ESC_SETS[d.name]))


def _check_fractions(d) -> None:
  if not 0 <= d.holdout_fraction < 1:
    raise InputError(f"config.data.holdout_fraction: must be in [0, 1), got {d.holdout_fraction}")
  test_fraction = d.test_fraction if d.name in SHIPPED else 0.0
  if not 0 <= d.valid_fraction < 1 - test_fraction:
    raise InputError(f"config.data.valid_fraction: must be in [0, {1 - test_fraction:g}), got "
                     f"{d.valid_fraction}")


def _holdout(d, labels, split):
  """Moves holdout_fraction of the baseline rows to RR-Net's own training rows."""
  if d.holdout_fraction > 0:
    train_rows = split["baseline"]
    parts = stratified_split(labels[train_rows], {"baseline": 0.0, "train": d.holdout_fraction},
                             d.split_seed + 1)
    split = dict(split, baseline=train_rows[parts["baseline"]], train=train_rows[parts["train"]])
  else:
    split["train"] = split["baseline"]
  return split
