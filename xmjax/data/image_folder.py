"""Image classification sets in the image-folder layout
`<split>/<class>/<image>` (torchvision's ImageFolder, one folder per split),
from a directory or a `.tar`/`.tar.gz` read in place (`xmjax.data.archive`).

Every image Pillow reads is decoded once into a uint8 array (greyscale
modes to one channel, every other mode to RGB; a split with both gets
three channels), all of one size (or resized to `image_size`), and cached
(`archive.cached_arrays`), so the next run with the same files starts at
once. Classes are the folder names: sorted, as ImageFolder orders them, or
in a given order (`class_names`: CIFAR-10's label order), in which case the
folders must be exactly those classes.
"""

from __future__ import annotations

import dataclasses
import io
import logging
from typing import Mapping, Sequence

import numpy as np

from xmjax.data import archive
from xmjax.errors import InputError

log = logging.getLogger("xmjax")

__all__ = ["IMAGE_SUFFIXES", "ImageFolder", "LabeledImages", "load_image_folder"]

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp", ".ppm",
                  ".pgm")
_GREY_MODES = ("1", "L", "LA", "I", "I;16", "F")
CACHE_VERSION = 1


@dataclasses.dataclass(frozen=True)
class LabeledImages:
  """Examples and their class labels: images (n, H, W, C) (feature vectors
  (n, D) for the feature sets) and labels (n,) int32."""
  images: np.ndarray
  labels: np.ndarray

  def __len__(self) -> int:
    return len(self.labels)

  def take(self, rows: np.ndarray) -> "LabeledImages":
    return LabeledImages(self.images[rows], self.labels[rows])


@dataclasses.dataclass(frozen=True)
class ImageFolder:
  """An image folder's splits (files in path order) and its class names,
  label i being class_names[i]."""
  splits: Mapping[str, LabeledImages]
  class_names: tuple[str, ...]


def _is_image(name: str) -> bool:
  return name.lower().endswith(IMAGE_SUFFIXES)


def _split_class(name: str, splits: Sequence[str]):
  """(split, class) of `split/class/file`, None for any other path."""
  parts = name.split("/")
  # an archive may wrap the layout in one top folder: <top>/<split>/<class>/<file>
  if len(parts) == 4 and parts[1] in splits:
    parts = parts[1:]
  if len(parts) != 3 or parts[0] not in splits:
    return None
  return parts[0], parts[1]


def _decode(where: str, data: bytes, size: tuple[int, int] | None) -> np.ndarray:
  """(H, W, 1) or (H, W, 3) uint8 from an image file's bytes."""
  from PIL import Image  # Pillow comes with matplotlib; imported only by image folders

  try:
    image = Image.open(io.BytesIO(data))
    image.load()
  except Exception as e:  # Pillow raises many types for a corrupt file
    raise InputError(f"{where}: not a readable image ({type(e).__name__}: {e})") from None
  if image.mode in _GREY_MODES:
    if image.mode in ("I", "I;16", "F"):  # wide greys: rescale to 0..255 by their range
      values = np.asarray(image, np.float64)
      span = max(values.max() - values.min(), 1e-12)
      image = Image.fromarray(np.uint8(np.round(255 * (values - values.min()) / span)))
    image = image.convert("L")
  else:
    image = image.convert("RGB")
  if size is not None and image.size != (size[1], size[0]):
    image = image.resize((size[1], size[0]), Image.BILINEAR)
  array = np.asarray(image, np.uint8)
  return array[..., None] if array.ndim == 2 else array


def _decode_folder(source: str, splits: Sequence[str], class_names: Sequence[str] | None,
                   image_size: tuple[int, int] | None, max_per_class: int = 0
                   ) -> dict[str, np.ndarray]:
  files = archive.list_files(source)
  found: dict[str, dict[str, int]] = {split: {} for split in splits}
  for name in files:
    where = _split_class(name, splits)
    if where is not None and _is_image(name):
      found[where[0]][where[1]] = found[where[0]].get(where[1], 0) + 1
  # class folders with no image: they exist only as the parents of other files
  for name in files:
    where = _split_class(name, splits)
    if where is not None and not _is_image(name) and where[1] not in found[where[0]]:
      raise InputError(f"{source}:{'/'.join(name.split('/')[:-1])}: a class folder with no "
                       f"image (found {name.split('/')[-1]!r}; images end in "
                       f"{', '.join(IMAGE_SUFFIXES)})")
  for split in splits:
    if not found[split]:
      raise InputError(f"{source}: no images under {split}/<class>/ (expected the layout "
                       f"<split>/<class>/<image> with splits {list(splits)})")
  names = list(class_names) if class_names is not None else sorted(found[splits[0]])
  for split in splits:
    if set(found[split]) != set(names):
      missing = sorted(set(names) - set(found[split]))
      extra = sorted(set(found[split]) - set(names))
      raise InputError(f"{source}: split {split!r} has class folders {sorted(found[split])}, "
                       f"expected {names}" + (f"; missing {missing}" if missing else "")
                       + (f"; unexpected {extra}" if extra else ""))
  index = {name: i for i, name in enumerate(names)}
  images: dict[str, list] = {split: [] for split in splits}
  labels: dict[str, list] = {split: [] for split in splits}
  members: dict[str, list] = {split: [] for split in splits}

  def wanted(name):
    return _is_image(name) and _split_class(name, splits) is not None

  if max_per_class:  # the first N of each class in path order (list_files is sorted)
    kept, seen = set(), {}
    for name in filter(wanted, files):
      where = _split_class(name, splits)
      if seen.get(where, 0) < max_per_class:
        seen[where] = seen.get(where, 0) + 1
        kept.add(name)
    wanted = kept.__contains__

  for name, data in archive.iter_files(source, wanted):
    split, cls = _split_class(name, splits)
    array = _decode(f"{source}:{name}", data, image_size)
    if images[split] and array.shape[:2] != images[split][0].shape[:2]:
      raise InputError(f"{source}:{name}: image of {array.shape[1]}x{array.shape[0]} pixels, "
                       f"but {members[split][0]} is {images[split][0].shape[1]}x"
                       f"{images[split][0].shape[0]}; set config.data.image_size to resize "
                       f"every image")
    images[split].append(array)
    labels[split].append(index[cls])
    members[split].append(name)
  out: dict[str, np.ndarray] = {"class_names": np.array(names)}
  for split in splits:
    channels = max(a.shape[-1] for a in images[split])
    stacked = np.stack([np.repeat(a, channels // a.shape[-1], -1) for a in images[split]])
    order = np.argsort(np.array(members[split]), kind="stable")  # archive order varies
    out[f"{split}_images"] = stacked[order]
    out[f"{split}_labels"] = np.array(labels[split], np.int32)[order]
  return out


def load_image_folder(source: str, splits: Sequence[str] = ("train", "test"),
                      class_names: Sequence[str] | None = None,
                      image_size: Sequence[int] | None = None, cache_dir: str = "",
                      max_per_class: int = 0) -> ImageFolder:
  """Every split's images (n, H, W, C) uint8 and labels (n,) int32 (files
  in path order), and the class names. Errors name the file: a corrupt
  image, one of another size, a class folder without images, a split whose
  classes differ. `max_per_class` > 0 keeps the first N files of each class
  of each split in path order, and only those are decoded (a slice of a
  large folder costs what the slice does)."""
  size = tuple(int(s) for s in image_size) if image_size else None
  if size is not None and (len(size) != 2 or min(size) < 1):
    raise InputError(f"config.data.image_size: expected (height, width), got {image_size}")
  options = {"version": CACHE_VERSION, "splits": list(splits),
             "class_names": list(class_names) if class_names is not None else None,
             "image_size": size}
  if max_per_class:  # only then, so the cache of a whole folder keeps its name
    options["max_per_class"] = int(max_per_class)
  arrays = archive.cached_arrays(
      "image_folder", source, options,
      lambda: _decode_folder(source, tuple(splits), class_names, size, max_per_class),
      cache_dir)
  # The cache file keeps flat `<split>_images` / `<split>_labels` arrays.
  folder = ImageFolder(
      splits={split: LabeledImages(arrays[f"{split}_images"], arrays[f"{split}_labels"])
              for split in splits},
      class_names=tuple(str(name) for name in arrays["class_names"]))
  for split, part in folder.splits.items():
    log.info("%s %s: %d images of %s", source, split, len(part),
             "x".join(map(str, part.images.shape[1:])))
  return folder
