"""ESC-50 / ESC-10 clips as spectrogram images, from a folder
`<top>/<NNN - Class name>/<fold>-<clip id>-<take>[_<k>].tif` (a directory or
a `.tar.gz` read in place, `xmjax.data.archive`).

- The class folder's number NNN is ESC's category code: hundreds = the
  major group 1..5, units = the class 1..10 inside it, so the ESC-50
  `target` is (NNN // 100 - 1) * 10 + NNN % 100 - 1 (class order of
  `xmjax.data.class_names.ESC50`).
- The fold (1..5, ESC's official folds) is the file name's first field.
- Each file is one single-channel float32 TIFF (frequency x time) of one
  shape for the whole set (37 x 50 for the shipped spectrograms).
- ESC-10 is the 10-class subset (`class_names.ESC10`), labels 0..9 in
  ESC-50 target order.

Decoded once and cached (`archive.cached_arrays`).
"""

from __future__ import annotations

import dataclasses
import io
import logging
import re

import numpy as np

from xmjax.data import archive
from xmjax.data.class_names import ESC10, ESC50
from xmjax.errors import InputError

log = logging.getLogger("xmjax")

__all__ = ["ESC_SETS", "EscClips", "load_esc_spectrograms", "target_of_folder"]

ESC_SETS = {"esc50": ESC50, "esc10": ESC10}
NUM_FOLDS = 5
CACHE_VERSION = 1
_FOLDER = re.compile(r"^(\d{3})\s*-\s*(.+)$")
_FILE = re.compile(r"^([1-5])-[^/]+\.tiff?$", re.IGNORECASE)


def target_of_folder(where: str, folder: str) -> int:
  """ESC-50 target (0..49) of a class folder named `NNN - Class name`."""
  match = _FOLDER.match(folder)
  code = int(match.group(1)) if match else -1
  major, minor = divmod(code, 100)
  if not match or not (1 <= major <= 5 and 1 <= minor <= 10):
    raise InputError(f"{where}: class folder {folder!r} is not named 'NNN - Class' with ESC's "
                     f"category code NNN in 101..510 (e.g. '101 - Dog')")
  return (major - 1) * 10 + minor - 1


def _read_tiff(where: str, data: bytes) -> np.ndarray:
  from PIL import Image  # Pillow reads float32 TIFFs (mode "F")

  try:
    image = Image.open(io.BytesIO(data))
    image.load()
  except Exception as e:
    raise InputError(f"{where}: not a readable TIFF ({type(e).__name__}: {e})") from None
  array = np.asarray(image)
  if array.ndim != 2:
    raise InputError(f"{where}: expected a single-channel spectrogram, got an image of shape "
                     f"{array.shape} (mode {image.mode})")
  return array.astype(np.float32)


def _decode(source: str) -> dict[str, np.ndarray]:
  files = archive.list_files(source)
  folders: dict[str, int] = {}
  for name in files:
    parts = name.split("/")
    if len(parts) < 2:
      continue
    folder = parts[-2]
    if folder not in folders:
      folders[folder] = 0
    if name.lower().endswith((".tif", ".tiff")):
      folders[folder] += 1
  if not folders:
    raise InputError(f"{source}: no class folders (expected <NNN - Class>/<fold>-<clip>.tif)")
  for folder, count in folders.items():
    if count == 0:
      raise InputError(f"{source}:{folder}: a class folder with no .tif spectrogram")
    target_of_folder(source, folder)
  specs, targets, folds, names = [], [], [], []
  for name, data in archive.iter_files(source, lambda n: n.lower().endswith((".tif", ".tiff"))):
    parts = name.split("/")
    where = f"{source}:{name}"
    if len(parts) < 2:
      raise InputError(f"{where}: a spectrogram outside any class folder")
    match = _FILE.match(parts[-1])
    if not match:
      raise InputError(f"{where}: file name without a fold: expected '<fold 1-5>-<clip>-"
                       f"<take>.tif' (ESC's naming)")
    spec = _read_tiff(where, data)
    if specs and spec.shape != specs[0].shape:
      raise InputError(f"{where}: spectrogram of shape {spec.shape}, but {names[0]} has "
                       f"{specs[0].shape}; every clip must have one shape")
    if not np.isfinite(spec).all():
      raise InputError(f"{where}: non-finite values in the spectrogram")
    specs.append(spec)
    targets.append(target_of_folder(source, parts[-2]))
    folds.append(int(match.group(1)))
    names.append(name)
  order = np.argsort(np.array(names), kind="stable")
  return {"spectrograms": np.stack(specs)[order], "targets": np.array(targets, np.int32)[order],
          "folds": np.array(folds, np.int32)[order]}


@dataclasses.dataclass(frozen=True)
class EscClips:
  """ESC clips: spectrograms (n, F, T) float32, labels (n,) int32 in the
  class order of ESC_SETS[dataset], folds (n,) int32 1..5."""
  spectrograms: np.ndarray
  labels: np.ndarray
  folds: np.ndarray

  def __len__(self) -> int:
    return len(self.labels)


def load_esc_spectrograms(source: str, dataset: str = "esc50", cache_dir: str = ""
                          ) -> EscClips:
  """The clips of `dataset` (ESC-50 or its ESC-10 subset) in `source`."""
  if dataset not in ESC_SETS:
    raise InputError(f"config.data.name: unknown ESC set {dataset!r}; choose one of "
                     f"{sorted(ESC_SETS)}")
  arrays = archive.cached_arrays("esc_spectrograms", source, {"version": CACHE_VERSION},
                                 lambda: _decode(source), cache_dir)
  targets = arrays["targets"]
  keep_targets = np.array([ESC50.index(name) for name in ESC_SETS[dataset]])
  keep = np.isin(targets, keep_targets)
  labels = np.searchsorted(keep_targets, targets[keep]).astype(np.int32)
  folds = arrays["folds"][keep]
  present = sorted(set(labels.tolist()))
  if len(present) != len(keep_targets):
    missing = [ESC_SETS[dataset][i] for i in range(len(keep_targets)) if i not in present]
    raise InputError(f"{source}: no clips of {missing} ({dataset} has {len(keep_targets)} "
                     f"classes)")
  missing_folds = sorted(set(range(1, NUM_FOLDS + 1)) - set(folds.tolist()))
  if missing_folds:
    raise InputError(f"{source}: no {dataset} clips in fold(s) {missing_folds}")
  log.info("%s: %d %s clips of %s, %d classes", source, int(keep.sum()), dataset,
           "x".join(map(str, arrays["spectrograms"].shape[1:])), len(keep_targets))
  return EscClips(arrays["spectrograms"][keep], labels, folds)
