"""Synthetic relational scenes: a seeded image-text set where a bag of objects
cannot find the right caption.

Each image is a set of 2..max_objects objects (distinct shapes, a colour and
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

import numpy as np

from xmjax.data.text import Vocabulary, pack_captions

SHAPES = ("cube", "ball", "cylinder", "cone", "ring", "pyramid")
COLOURS = ("red", "blue", "green", "yellow", "purple", "white")
SIZES = ("small", "large")
CAPTIONS_PER_IMAGE = 5


@dataclasses.dataclass(frozen=True)
class Images:
  regions: np.ndarray      # (M, R, D) float32
  boxes: np.ndarray        # (M, R, 4) float32, (x1, y1, x2, y2) / image size, in [0, 1]
  region_mask: np.ndarray  # (M, R) bool

  def __len__(self) -> int:
    return len(self.regions)

  def take(self, rows) -> "Images":
    return Images(self.regions[rows], self.boxes[rows], self.region_mask[rows])


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
  """Same objects, two colours or two positions swapped; returns (objects, changed pair)."""
  a, b = rng.choice(len(objects), 2, replace=False)
  sibling = [dict(o) for o in objects]
  if rng.random() < 0.5 and objects[a]["colour"] != objects[b]["colour"]:
    sibling[a]["colour"], sibling[b]["colour"] = objects[b]["colour"], objects[a]["colour"]
  else:
    centre = lambda box: (box[:2] + box[2:]) / 2
    shift = centre(objects[b]["box"]) - centre(objects[a]["box"])
    sibling[a]["box"] = objects[a]["box"] + np.tile(shift, 2)
    sibling[b]["box"] = objects[b]["box"] - np.tile(shift, 2)
  return sibling, (int(a), int(b))


def make_scenes(num_pairs: int, feature_dim: int = 64, max_objects: int = 4,
                noise: float = 0.3, seed: int = 0, vocab_seed: int = 0):
  """(Images, caption words, caption POS, caption heads) for 2 * num_pairs images.

  `vocab_seed` fixes the shape/colour/size vectors (shared by every split of
  one data set); `seed` draws the scenes.
  """
  table_rng = np.random.default_rng([vocab_seed, 17])
  scale = 1 / np.sqrt(feature_dim)
  shape_vec = table_rng.standard_normal((len(SHAPES), feature_dim)) * scale * 2
  colour_vec = table_rng.standard_normal((len(COLOURS), feature_dim)) * scale * 2
  size_vec = table_rng.standard_normal((len(SIZES), feature_dim)) * scale
  rng = np.random.default_rng([seed, 18])
  regions = np.zeros((2 * num_pairs, max_objects, feature_dim), np.float32)
  boxes = np.zeros((2 * num_pairs, max_objects, 4), np.float32)
  mask = np.zeros((2 * num_pairs, max_objects), bool)
  words, pos, heads = [], [], []
  for pair in range(num_pairs):
    base = _scene(rng, max_objects)
    sibling, changed = _sibling(base, rng)
    for image, objects in ((2 * pair, base), (2 * pair + 1, sibling)):
      order = rng.permutation(len(objects))    # region order carries no information
      for slot, k in enumerate(order):
        o = objects[k]
        regions[image, slot] = (shape_vec[o["shape"]] + colour_vec[o["colour"]]
                                + size_vec[o["size"]]
                                + noise * scale * rng.standard_normal(feature_dim))
        boxes[image, slot] = np.clip(o["box"], 0, 1)
        mask[image, slot] = True
      for _ in range(CAPTIONS_PER_IMAGE):
        i = changed[int(rng.integers(2))]      # name a changed object ...
        j = int(rng.choice([k for k in range(len(objects)) if k != i]))
        if rng.random() < 0.5:
          i, j = j, i                          # ... in either role
        w, p, h = _caption(objects, i, j, rng)
        words.append(w)
        pos.append(p)
        heads.append(h)
  return Images(regions, boxes, mask), words, pos, heads


def scenes_split(num_pairs: int, vocabulary: Vocabulary | None = None, **kwargs):
  """(Images, Captions, Vocabulary) of one split; builds the vocabulary if none."""
  images, words, pos, heads = make_scenes(num_pairs, **kwargs)
  if vocabulary is None:
    vocabulary = Vocabulary.build(words)
  tokens = [vocabulary.ids(w)[0] for w in words]
  captions = pack_captions(tokens, pos, heads,
                           np.repeat(np.arange(len(images)), CAPTIONS_PER_IMAGE))
  return images, captions, vocabulary
