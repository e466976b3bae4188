"""Image classification sets from TensorFlow Datasets, read without TensorFlow.

`tfds.data_source` gives random access to the prepared ArrayRecord files
(`data_dir` may point at a pre-downloaded copy); the whole split is decoded
once into a uint8 array, which then lives on the accelerator, so training
steps never wait on the host. `fake_examples > 0` swaps the files for
`tfds.testing.mock_data` examples of the real shapes and label space (smoke
tests and throughput runs; never the default).
"""

from __future__ import annotations

import contextlib
import glob
import os
import logging

import numpy as np

from xmjax.errors import InputError

log = logging.getLogger("xmjax")

# name -> (image shape, number of classes)
IMAGE_DATASETS = {"cifar10": ((32, 32, 3), 10), "cifar100": ((32, 32, 3), 100)}


def load_tfds_split(name: str, split: str, data_dir: str | None = None,
                    fake_examples: int = 0) -> tuple[np.ndarray, np.ndarray]:
  """(images (n, H, W, C) uint8, labels (n,) int32) of one TFDS split."""
  if name not in IMAGE_DATASETS:
    raise InputError(f"config.data.name: unknown image data set {name!r}; "
                     f"choose one of {sorted(IMAGE_DATASETS)}")
  import tensorflow_datasets as tfds  # imported here: only image configs pay for it

  shape, num_classes = IMAGE_DATASETS[name]
  mock = (tfds.testing.mock_data(num_examples=fake_examples) if fake_examples > 0
          else contextlib.nullcontext())
  where = data_dir or "the default TFDS data_dir (~/tensorflow_datasets)"
  prepare_it = (f"prepare it once with `tfds build {name} --file_format=array_record` on a "
                "machine with internet (building needs TensorFlow), or pass "
                "--config.data.fake_examples=N for generated examples")
  root = os.path.expanduser(data_dir or os.environ.get("TFDS_DATA_DIR") or "~/tensorflow_datasets")
  if not fake_examples and "://" not in root and not glob.glob(
      os.path.join(root, name, "*", "dataset_info.json")):
    # Before TFDS is asked: it would first log a warning about a folder that
    # does not exist, and the user needs to know what to prepare, not that.
    raise InputError(f"config.data.data_dir: no prepared TFDS {name!r} in {where} "
                     f"(no {os.path.join(root, name, '<version>', 'dataset_info.json')}); "
                     f"{prepare_it}")
  with mock:
    try:
      source = tfds.data_source(name, split=split, data_dir=data_dir or None,
                                download=False)
    except Exception as e:  # tfds raises several types for "not prepared here"
      raise InputError(
          f"config.data.data_dir: cannot open TFDS {name!r} split {split!r} in {where} "
          f"({type(e).__name__}: {e}); {prepare_it}") from e
    n = len(source)
    images = np.empty((n,) + shape, np.uint8)
    labels = np.empty((n,), np.int32)
    for i in range(n):
      example = source[i]
      image = np.asarray(example["image"])
      if image.shape != shape:
        raise InputError(f"TFDS {name!r} split {split!r} example {i}: image shape "
                         f"{image.shape}, expected {shape}")
      images[i], labels[i] = image, example["label"]
  if n and (labels.min() < 0 or labels.max() >= num_classes):
    raise InputError(f"TFDS {name!r} split {split!r}: labels outside 0..{num_classes - 1}")
  log.info("%s %s: %d images%s", name, split, n, " (generated)" if fake_examples else "")
  return images, labels
