"""Captions as arrays: tokens, part-of-speech tags, dependency heads.

A `Captions` holds N captions padded to one length L (static shapes for
jit): `tokens` (N, L) vocabulary ids (0 = padding), `pos` (N, L) Universal
POS ids (0 = padding), `heads` (N, L) the index of each word's dependency
head (-1 for the root, padding and unparsed text), `lengths` (N,) and
`image_index` (N,) the image each caption describes.

The text graph of RACG links each word to its head (both directions) and to
itself; only nouns and adjectives link to image regions (`link_mask`).
Without a parser, `chain_heads` links each word to the previous one and the
POS of every word is unknown ("X"), which makes every word a linking word.
"""

from __future__ import annotations

import dataclasses
import logging
import re
from typing import Sequence

import numpy as np

log = logging.getLogger("xmjax")

UPOS = ("ADJ", "ADP", "ADV", "AUX", "CCONJ", "DET", "INTJ", "NOUN", "NUM", "PART", "PRON",
        "PROPN", "PUNCT", "SCONJ", "SYM", "VERB", "X")
POS_ID = {tag: i + 1 for i, tag in enumerate(UPOS)}   # 0 = padding
NUM_POS = len(UPOS) + 1
LINKING_POS = ("NOUN", "PROPN", "ADJ")
UNKNOWN_POS = "X"

PAD, START, END, UNK = "<pad>", "<start>", "<end>", "<unk>"


@dataclasses.dataclass(frozen=True)
class Captions:
  tokens: np.ndarray       # (N, L) int32
  pos: np.ndarray          # (N, L) int32
  heads: np.ndarray        # (N, L) int32
  lengths: np.ndarray      # (N,) int32
  image_index: np.ndarray  # (N,) int32

  def __len__(self) -> int:
    return len(self.lengths)

  def take(self, rows) -> "Captions":
    return Captions(*(getattr(self, f.name)[rows] for f in dataclasses.fields(self)))

  def link_mask(self, parsed: bool = True) -> np.ndarray:
    """(N, L) bool: the words that link to image regions (nouns and adjectives;
    every word when the POS is unknown)."""
    linking = np.isin(self.pos, [POS_ID[t] for t in LINKING_POS + (UNKNOWN_POS,)])
    return linking & (np.arange(self.tokens.shape[1])[None] < self.lengths[:, None])


def tokenize(text: str) -> list[str]:
  """Lower-case words and punctuation marks, as SCAN's tokenizer splits them."""
  return re.findall(r"[a-z0-9]+(?:'[a-z]+)?|[^\sa-z0-9]", text.lower())


def chain_heads(length: int) -> list[int]:
  """The fallback text graph: word i depends on word i - 1."""
  return [-1] + list(range(length - 1))


class Vocabulary:
  """word <-> id, SCAN style (`word2idx`, `<pad>` = 0, `<unk>` for the rest)."""

  def __init__(self, word2idx: dict[str, int]):
    self.word2idx = dict(word2idx)
    if UNK not in self.word2idx:
      raise ValueError(f"vocabulary has no {UNK!r} entry")
    self.unk = self.word2idx[UNK]

  @classmethod
  def build(cls, sentences: Sequence[Sequence[str]]) -> "Vocabulary":
    words = sorted({w for s in sentences for w in s})
    specials = [PAD, START, END, UNK]
    return cls({w: i for i, w in enumerate(specials + [w for w in words if w not in specials])})

  def __len__(self) -> int:
    return max(self.word2idx.values()) + 1

  def ids(self, words: Sequence[str]) -> tuple[list[int], int]:
    """Ids of `words` and how many were unknown."""
    ids = [self.word2idx.get(w, self.unk) for w in words]
    return ids, sum(1 for w in words if w not in self.word2idx)


def pack_captions(tokens: Sequence[Sequence[int]], pos: Sequence[Sequence[str]],
                  heads: Sequence[Sequence[int]], image_index: Sequence[int],
                  max_length: int | None = None, multiple: int = 8) -> Captions:
  """Pads per-caption lists into a `Captions`; truncates past `max_length`."""
  longest = max(len(t) for t in tokens)
  length = min(longest, max_length) if max_length else longest
  width = -(-length // multiple) * multiple
  n = len(tokens)
  out_tokens = np.zeros((n, width), np.int32)
  out_pos = np.zeros((n, width), np.int32)
  out_heads = np.full((n, width), -1, np.int32)
  lengths = np.zeros(n, np.int32)
  for i, (t, p, h) in enumerate(zip(tokens, pos, heads)):
    m = min(len(t), length)
    out_tokens[i, :m] = t[:m]
    out_pos[i, :m] = [POS_ID.get(tag, POS_ID[UNKNOWN_POS]) for tag in p[:m]]
    out_heads[i, :m] = [x if x < m else -1 for x in h[:m]]
    lengths[i] = m
  return Captions(out_tokens, out_pos, out_heads, lengths, np.asarray(image_index, np.int32))


def spacy_parser(model: str = "en_core_web_sm"):
  """A parse function text -> (words, UPOS tags, heads), or None when spaCy
  or the model is not installed."""
  try:
    import spacy
    nlp = spacy.load(model, disable=["ner"])
  except (ImportError, OSError) as e:
    log.info("spaCy parser unavailable (%s); text graphs fall back to chains", e)
    return None

  def parse(text: str):
    doc = nlp(text.lower())
    words = [t.text for t in doc if not t.is_space]
    index = {t.i: k for k, t in enumerate(t for t in doc if not t.is_space)}
    heads = [-1 if t.head.i == t.i else index.get(t.head.i, -1) for t in doc if not t.is_space]
    return words, [t.pos_ for t in doc if not t.is_space], heads

  return parse
