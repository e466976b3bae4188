"""Synthetic relational scenes: a seeded image-text set where a bag of objects
cannot find the right caption. Two kinds (`make_scenes(kind=...)`):

"relational" (the default of configs/racg_scenes.py): a benchmark on which
relations are necessary. Each image has 3..max_objects objects whose
(shape, colour) pairs are distinct but whose shapes repeat (so "the red cube"
must be grounded among cubes). Its sibling is a minimal pair:
- spatial contrast (the test of relations): a target object stays where it
  is and one reference object moves to the mirror position across it (left
  of -> right of, above -> below); every other object stays. All 5 captions
  state the target-reference relation (either order, size words optional),
  so every caption is false for the sibling, and the named object's
  absolute position is the same in both images;
- colour contrast (the control): the colours of the target and the
  reference are swapped; every caption names the target by its colour.
The target and its reference sit close together (centre distance 0.12-0.2
along one axis) anywhere in the image, so an object's absolute position
says little about which side of its partner it is on.

"swap" (the first version, kept to reproduce its numbers): distinct shapes;
the sibling swaps two colours or two positions; captions name a changed
object, some captions are also true of the sibling.

Swap kind: each image is a set of 2..max_objects objects (distinct shapes, a colour and
a size each) at random positions. A region vector is the sum of fixed random
shape, colour and size vectors plus noise (the "detector feature"), with its
box. Images come in pairs: the second of a pair has the same objects with
either two colours swapped (attribute binding) or two positions swapped
(spatial relation), so the two images hold the same bag of shapes and
colours and their captions are each other's hard negatives. Every image has
5 captions from a small grammar, "a small red cube left of a blue ball",
each naming at least one of the two changed objects, with the POS tags and
dependency heads known (no parser needed). Caption 5i+j describes image i.
"""

from __future__ import annotations

import dataclasses
from typing import Optional

import numpy as np

from xmjax import random_streams
from xmjax.data.text import Vocabulary, pack_captions

SHAPES = ("cube", "ball", "cylinder", "cone", "ring", "pyramid")
COLOURS = ("red", "blue", "green", "yellow", "purple", "white")
SIZES = ("small", "large")
CAPTIONS_PER_IMAGE = 5
CONTRASTS = ("colour", "spatial")
KINDS = ("relational", "swap")


@dataclasses.dataclass(frozen=True)
class Images:
  regions: np.ndarray      # (M, R, D) float32
  boxes: np.ndarray        # (M, R, 4) float32, (x1, y1, x2, y2) / image size, in [0, 1]
  region_mask: np.ndarray  # (M, R) bool
  # Scenes only: (M,) what image 2p and its sibling 2p+1 differ in
  # (CONTRASTS index: 0 colour, 1 spatial); None for other data.
  contrast: Optional[np.ndarray] = None

  def __len__(self) -> int:
    return len(self.regions)

  def take(self, rows) -> "Images":
    return Images(self.regions[rows], self.boxes[rows], self.region_mask[rows],
                  None if self.contrast is None else self.contrast[rows])


def _relation(a, b) -> list[str]:
  """Words for where box a's centre lies relative to box b's (dominant axis)."""
  dx = (a[0] + a[2] - b[0] - b[2]) / 2
  dy = (a[1] + a[3] - b[1] - b[3]) / 2
  if abs(dx) >= abs(dy):
    return ["left", "of"] if dx < 0 else ["right", "of"]
  return ["above"] if dy < 0 else ["below"]


def _phrase(obj, with_size: bool) -> tuple[list[str], list[str]]:
  words = ["a"] + ([SIZES[obj["size"]]] if with_size else []) + [COLOURS[obj["colour"]],
                                                                 SHAPES[obj["shape"]]]
  pos = ["DET"] + (["ADJ"] if with_size else []) + ["ADJ", "NOUN"]
  return words, pos


def _caption(objects, i, j, rng):
  """'a [size] colour shape REL a [size] colour shape' with POS and heads."""
  first, first_pos = _phrase(objects[i], rng.random() < 0.5)
  relation = _relation(objects[i]["box"], objects[j]["box"])
  second, second_pos = _phrase(objects[j], rng.random() < 0.5)
  words = first + relation + second
  pos = first_pos + ["ADP"] * len(relation) + second_pos
  noun1 = len(first) - 1
  rel0 = len(first)
  noun2 = len(words) - 1
  heads = [noun1] * (len(first) - 1) + [-1]              # modifiers -> noun1 (root)
  heads += [noun1] + [rel0] * (len(relation) - 1)        # "left" -> noun1, "of" -> "left"
  heads += [noun2] * (len(second) - 1) + [rel0 + len(relation) - 1]  # noun2 -> last rel word
  return words, pos, heads


def _scene(rng, max_objects):
  count = rng.integers(2, max_objects + 1)
  shapes = rng.choice(len(SHAPES), count, replace=False)
  objects = []
  for shape in shapes:
    size = int(rng.integers(0, 2))
    half = 0.08 if size == 0 else 0.15
    cx, cy = rng.uniform(0.15, 0.85, 2)
    objects.append({"shape": int(shape), "colour": int(rng.integers(len(COLOURS))),
                    "size": size, "box": np.array([cx - half, cy - half, cx + half, cy + half])})
  return objects


def _sibling(objects, rng):
  """Same objects, two colours or two positions swapped; returns (objects,
  changed pair, contrast)."""
  a, b = rng.choice(len(objects), 2, replace=False)
  sibling = [dict(o) for o in objects]
  if rng.random() < 0.5 and objects[a]["colour"] != objects[b]["colour"]:
    sibling[a]["colour"], sibling[b]["colour"] = objects[b]["colour"], objects[a]["colour"]
    contrast = "colour"
  else:
    centre = lambda box: (box[:2] + box[2:]) / 2
    shift = centre(objects[b]["box"]) - centre(objects[a]["box"])
    sibling[a]["box"] = objects[a]["box"] + np.tile(shift, 2)
    sibling[b]["box"] = objects[b]["box"] - np.tile(shift, 2)
    contrast = "spatial"
  return sibling, (int(a), int(b)), contrast


def _swap_pair(rng, max_objects):
  """The "swap" kind: (base, sibling, contrast, describe(objects, rng) -> captions)."""
  base = _scene(rng, max_objects)
  sibling, changed, contrast = _sibling(base, rng)

  def describe(objects, rng):
    captions = []
    for _ in range(CAPTIONS_PER_IMAGE):
      i = changed[int(rng.integers(2))]      # name a changed object ...
      j = int(rng.choice([k for k in range(len(objects)) if k != i]))
      if rng.random() < 0.5:
        i, j = j, i                          # ... in either role
      captions.append(_caption(objects, i, j, rng))
    return captions
  return base, sibling, contrast, describe


def _box(centre, size):
  half = 0.04 if size == 0 else 0.07
  return np.array([centre[0] - half, centre[1] - half, centre[0] + half, centre[1] + half])


def _relational_pair(rng, max_objects):
  """The "relational" kind: (base, sibling, contrast, describe); see the
  module docstring. Object 0 is the target, 1 its reference, 2 a
  distractor of the target's shape in another colour."""
  count = int(rng.integers(3, max_objects + 1))
  contrast = CONTRASTS[int(rng.integers(2))]
  while True:
    shapes = [int(rng.integers(len(SHAPES)))]
    shapes.append(int(rng.choice([s for s in range(len(SHAPES)) if s != shapes[0]])))
    shapes.append(shapes[0])
    shapes += [int(rng.integers(len(SHAPES))) for _ in range(count - 3)]
    colours = [int(c) for c in rng.integers(len(COLOURS), size=count)]
    swapped = list(colours)
    swapped[0], swapped[1] = colours[1], colours[0]
    distinct = lambda cs: len(set(zip(shapes, cs))) == count
    # (shape, colour) pairs identify objects in both images; the colour
    # control needs two different colours to swap.
    if distinct(colours) and distinct(swapped) and colours[0] != colours[1]:
      break
  sizes = [int(s) for s in rng.integers(2, size=count)]
  target = rng.uniform(0.25, 0.75, 2)
  axis, side = int(rng.integers(2)), float(rng.choice([-1.0, 1.0]))
  offset = np.zeros(2)
  offset[axis] = side * rng.uniform(0.12, 0.2)
  offset[1 - axis] = rng.uniform(-0.03, 0.03)
  centres = [target, target + offset] + [rng.uniform(0.1, 0.9, 2) for _ in range(count - 2)]
  make = lambda cs, cents: [{"shape": shapes[k], "colour": cs[k], "size": sizes[k],
                             "box": _box(cents[k], sizes[k])} for k in range(count)]
  base = make(colours, centres)
  if contrast == "spatial":   # the reference to the mirror position across the target
    mirrored = list(centres)
    mirrored[1] = target - np.array([offset[0] if axis == 0 else -offset[0],
                                     offset[1] if axis == 1 else -offset[1]])
    sibling = make(colours, mirrored)
  else:
    sibling = make(swapped, centres)
  def describe(objects, rng):   # the target-reference relation, in either order
    roles = [(0, 1) if rng.random() < 0.5 else (1, 0) for _ in range(CAPTIONS_PER_IMAGE)]
    return [_caption(objects, i, j, rng) for i, j in roles]
  return base, sibling, contrast, describe


def make_scenes(num_pairs: int, feature_dim: int = 64, max_objects: int = 4,
                noise: float = 0.3, seed: int = 0, vocab_seed: int = 0, kind: str = "swap",
                with_objects: bool = False):
  """(Images, caption words, caption POS, caption heads) for 2 * num_pairs images,
  and with `with_objects` each image's objects (dicts of shape, colour and
  size indices and the box), to check captions symbolically.

  `kind`: "relational" or "swap" (module docstring); Images.contrast says
  what each sibling pair differs in. `vocab_seed` fixes the shape/colour/size
  vectors (shared by every split of one data set); `seed` draws the scenes.
  """
  if kind not in KINDS:
    raise ValueError(f"kind: {kind!r} is not one of {KINDS}")
  if kind == "relational" and max_objects < 3:
    raise ValueError(f"max_objects: relational scenes need at least 3, got {max_objects}")
  table_rng = random_streams.generator(vocab_seed, random_streams.SCENE_VOCABULARY)
  scale = 1 / np.sqrt(feature_dim)
  shape_vec = table_rng.standard_normal((len(SHAPES), feature_dim)) * scale * 2
  colour_vec = table_rng.standard_normal((len(COLOURS), feature_dim)) * scale * 2
  size_vec = table_rng.standard_normal((len(SIZES), feature_dim)) * scale
  rng = random_streams.generator(
      seed, random_streams.SWAP_SCENES if kind == "swap" else random_streams.RELATIONAL_SCENES)
  regions = np.zeros((2 * num_pairs, max_objects, feature_dim), np.float32)
  boxes = np.zeros((2 * num_pairs, max_objects, 4), np.float32)
  mask = np.zeros((2 * num_pairs, max_objects), bool)
  contrast = np.zeros(2 * num_pairs, np.int8)
  words, pos, heads, scene_objects = [], [], [], []
  make_pair = _swap_pair if kind == "swap" else _relational_pair
  for pair in range(num_pairs):
    base, sibling, pair_contrast, describe = make_pair(rng, max_objects)
    contrast[2 * pair:2 * pair + 2] = CONTRASTS.index(pair_contrast)
    for image, objects in ((2 * pair, base), (2 * pair + 1, sibling)):
      scene_objects.append(objects)
      order = rng.permutation(len(objects))    # region order carries no information
      for slot, k in enumerate(order):
        o = objects[k]
        regions[image, slot] = (shape_vec[o["shape"]] + colour_vec[o["colour"]]
                                + size_vec[o["size"]]
                                + noise * scale * rng.standard_normal(feature_dim))
        boxes[image, slot] = np.clip(o["box"], 0, 1)
        mask[image, slot] = True
      for w, p, h in describe(objects, rng):
        words.append(w)
        pos.append(p)
        heads.append(h)
  out = (Images(regions, boxes, mask, contrast), words, pos, heads)
  return out + (scene_objects,) if with_objects else out


def scenes_split(num_pairs: int, vocabulary: Vocabulary | None = None, **kwargs):
  """(Images, Captions, Vocabulary) of one split; builds the vocabulary if none."""
  images, words, pos, heads = make_scenes(num_pairs, **kwargs)
  if vocabulary is None:
    vocabulary = Vocabulary.build(words)
  tokens = [vocabulary.ids(w)[0] for w in words]
  captions = pack_captions(tokens, pos, heads,
                           np.repeat(np.arange(len(images)), CAPTIONS_PER_IMAGE))
  return images, captions, vocabulary
