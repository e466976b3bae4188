"""SCAN "precomp" image-text features (docs/protocols.md): Flickr30k, MS-COCO.

Per split: `{split}_ims.npy` (n_images, 36, 2048) bottom-up region features,
`{split}_caps.txt` (one caption per line, 5 per image in order), optional
`{split}_ims_bbx.npy` (n_images, 36, 4) boxes in pixels and
`{split}_ims_size.npy` (n_images, 2) image width and height; a vocabulary
JSON with `word2idx`. Region features are memory-mapped, never copied whole.
"""

from __future__ import annotations

import glob
import json
import logging
import os

import numpy as np

from xmjax.data.scenes import CAPTIONS_PER_IMAGE, Images
from xmjax.data.text import Captions, Vocabulary, chain_heads, pack_captions, tokenize
from xmjax.errors import InputError

log = logging.getLogger("xmjax")


def find_vocabulary(directory: str, path: str = "") -> str:
  if path:
    return path
  candidates = sorted(glob.glob(os.path.join(directory, "*vocab*.json")))
  if not candidates:
    raise InputError(f"{directory}: no vocabulary JSON (*vocab*.json) found; set "
                     "config.data.vocab to the file with `word2idx`")
  return candidates[0]


def load_vocabulary(path: str) -> Vocabulary:
  if not os.path.exists(path):
    raise InputError(f"{path}: file not found")
  try:
    with open(path) as f:
      payload = json.load(f)
  except (OSError, ValueError) as e:
    raise InputError(f"{path}: not a readable JSON file ({e})") from e
  if "word2idx" not in payload:
    raise InputError(f"{path}: missing 'word2idx'; found {sorted(payload)}")
  try:
    return Vocabulary(payload["word2idx"])
  except ValueError as e:
    raise InputError(f"{path}: {e}") from e


def _check_finite_chunks(path: str, array: np.ndarray, chunk: int = 512) -> None:
  for start in range(0, len(array), chunk):
    block = np.asarray(array[start:start + chunk])
    bad = ~np.isfinite(block.reshape(len(block), -1)).all(1)
    if bad.any():
      raise InputError(f"{path}: NaN/Inf region features in image row {start + np.flatnonzero(bad)[0]}")


def load_scan_split(directory: str, split: str, vocabulary: Vocabulary, parser=None,
                    max_length: int = 64) -> tuple[Images, Captions, dict]:
  """(Images, Captions, info) of one split; info counts unknown tokens etc."""
  ims_path = os.path.join(directory, f"{split}_ims.npy")
  caps_path = os.path.join(directory, f"{split}_caps.txt")
  for path in (ims_path, caps_path):
    if not os.path.exists(path):
      raise InputError(f"{path}: file not found")
  try:
    regions = np.load(ims_path, mmap_mode="r", allow_pickle=False)
  except (OSError, ValueError) as e:
    raise InputError(f"{ims_path}: not a readable .npy file ({e})") from e
  if regions.ndim != 3:
    raise InputError(f"{ims_path}: expected (n_images, regions, dim), got shape {regions.shape}")
  with open(caps_path) as f:
    lines = [line.strip() for line in f if line.strip()]
  n_images, n_captions = regions.shape[0], len(lines)
  rows = np.arange(n_images)
  if n_images == n_captions:   # one image row per caption (Flickr30k dev): keep every 5th
    rows = rows[::CAPTIONS_PER_IMAGE]
  elif n_captions != CAPTIONS_PER_IMAGE * n_images:
    raise InputError(f"{ims_path}: {n_images} images for {n_captions} captions in {caps_path}; "
                     f"expected {CAPTIONS_PER_IMAGE} captions per image (or one image row per "
                     "caption)")
  if n_captions % CAPTIONS_PER_IMAGE:
    raise InputError(f"{caps_path}: {n_captions} captions is not a multiple of "
                     f"{CAPTIONS_PER_IMAGE}")
  _check_finite_chunks(ims_path, regions)
  features = np.asarray(regions[rows], np.float32) if len(rows) < n_images else regions
  boxes = np.zeros(features.shape[:2] + (4,), np.float32)
  bbx_path = os.path.join(directory, f"{split}_ims_bbx.npy")
  size_path = os.path.join(directory, f"{split}_ims_size.npy")
  has_boxes = os.path.exists(bbx_path) and os.path.exists(size_path)
  if has_boxes:
    raw = np.load(bbx_path, allow_pickle=False)[rows].astype(np.float32)
    sizes = np.load(size_path, allow_pickle=False)[rows].astype(np.float32)
    if raw.shape != features.shape[:2] + (4,) or sizes.shape != (len(rows), 2):
      raise InputError(f"{bbx_path}: boxes {raw.shape} and sizes {sizes.shape} do not match "
                       f"{features.shape[:2]} regions")
    scale = np.concatenate([sizes, sizes], axis=1)[:, None, :]
    boxes = raw / np.maximum(scale, 1e-6)
    outside = (boxes < -1e-3) | (boxes > 1 + 1e-3)
    if outside.any():
      image, region = np.argwhere(outside.any(-1))[0]
      raise InputError(f"{bbx_path}: box {raw[image, region].tolist()} of image row "
                       f"{rows[image]} region {region} lies outside its image "
                       f"{sizes[image].tolist()} ({size_path})")
    boxes = np.clip(boxes, 0, 1)
  words, pos, heads = [], [], []
  unknown = 0
  for line in lines:
    if parser is not None:
      w, p, h = parser(line)
    else:
      w = tokenize(line)
      p, h = ["X"] * len(w), chain_heads(len(w))
    ids, missing = vocabulary.ids(w)
    unknown += missing
    words.append(ids)
    pos.append(p)
    heads.append(h)
  if unknown:
    log.warning("%s: %d tokens not in the vocabulary were mapped to <unk>", caps_path, unknown)
  captions = pack_captions(words, pos, heads, np.arange(n_captions) // CAPTIONS_PER_IMAGE,
                           max_length=max_length)
  images = Images(features, boxes, np.ones(features.shape[:2], bool))
  info = {"unknown_tokens": unknown, "positions": has_boxes, "parsed": parser is not None}
  return images, captions, info
