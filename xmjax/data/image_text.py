"""Image-text retrieval data (RACG): region features of images and parsed
captions, from the generated relational scenes or the SCAN precomp layout,
and the arrays a model call takes.

    data = load_image_text(config.data)        # an ImageTextData
    regions, boxes, mask = image_arrays(data.test_images, rows)
"""

from __future__ import annotations

import dataclasses

import numpy as np

from xmjax.data import scan as scan_lib
from xmjax.data.scenes import Images, scenes_split
from xmjax.data.text import Captions, spacy_parser
from xmjax.errors import InputError

__all__ = ["ImageTextData", "LENGTH_MULTIPLE", "caption_arrays", "image_arrays",
           "load_image_text"]


@dataclasses.dataclass(frozen=True)
class ImageTextData:
  """Both splits of an image-text set.

  parsed: whether captions carry a dependency parse (else a word chain).
  positions: whether images carry region boxes.
  unknown_tokens: caption words outside the vocabulary (training split).
  """
  train_images: Images
  train_captions: Captions
  test_images: Images
  test_captions: Captions
  vocab_size: int
  parsed: bool
  positions: bool
  unknown_tokens: int


def load_image_text(d) -> ImageTextData:
  """`d` is a config's `data` section: `name` "scenes" (generated, from
  `d.scenes`) or "scan" (`d.dir`, `d.vocab`, `d.train_split`, `d.eval_split`,
  `d.parser`, `d.max_length`)."""
  if d.name == "scenes":
    s = d.scenes
    kwargs = dict(feature_dim=s.feature_dim, max_objects=s.max_objects, noise=s.noise,
                  vocab_seed=s.seed, kind=s.kind)
    train_images, train_caps, vocab = scenes_split(s.train_pairs, seed=2 * s.seed + 1, **kwargs)
    test_images, test_caps, _ = scenes_split(s.test_pairs, vocabulary=vocab, seed=2 * s.seed + 2,
                                             **kwargs)
    info = {"parsed": True, "positions": True, "unknown_tokens": 0}
  else:
    vocab = scan_lib.load_vocabulary(scan_lib.find_vocabulary(d.dir, d.vocab))
    parser = None
    if d.parser == "spacy":
      parser = spacy_parser()
      if parser is None:
        raise InputError("config.data.parser: 'spacy' asked for, but spaCy or its "
                         "en_core_web_sm model is not installed; use parser='none'")
    train_images, train_caps, info = scan_lib.load_scan_split(d.dir, d.train_split, vocab,
                                                              parser, d.max_length)
    test_images, test_caps, _ = scan_lib.load_scan_split(d.dir, d.eval_split, vocab, parser,
                                                         d.max_length)
  return ImageTextData(train_images, train_caps, test_images, test_caps, len(vocab),
                       parsed=bool(info["parsed"]), positions=bool(info["positions"]),
                       unknown_tokens=int(info["unknown_tokens"]))


# Captions are cut to their longest member rounded up to this many words, so
# a batch of short captions does not pay for the longest caption of the data
# set (pair cost grows with the padded length), at a bounded number of
# compiled shapes (max_length / LENGTH_MULTIPLE).
LENGTH_MULTIPLE = 4


def caption_arrays(captions: Captions, rows) -> tuple:
  """(tokens, pos, heads, lengths, link) of `rows`, trimmed to their own length."""
  c = captions.take(rows)
  width = -(-int(c.lengths.max()) // LENGTH_MULTIPLE) * LENGTH_MULTIPLE
  width = min(width, c.tokens.shape[1])
  return (c.tokens[:, :width], c.pos[:, :width], c.heads[:, :width], c.lengths,
          c.link_mask()[:, :width])


def image_arrays(images: Images, rows) -> tuple:
  """(regions float32, boxes, region_mask) of `rows`."""
  return (np.asarray(images.regions[rows], np.float32), images.boxes[rows],
          images.region_mask[rows])
