"""DRSL: Deep Relational Similarity Learning for cross-modal retrieval.

Image FNN and text FNN on pre-extracted features, then a relation network
scores every (image, text) pair; the loss is ||R - S||_F^2 with S_pq = 1 for
a same-class pair (eq. 9-10).
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from xmjax.nn.cross_graph import l2_normalize
from xmjax.nn.relation import RelationNetwork

# How a pair is scored: the relation network (the paper), or the cosine of
# the two embeddings (the ablation without it: the same encoders and loss).
SCORERS = ("relation", "cosine")


class FNN(nn.Module):
  """Fully connected layers, each followed by ReLU (and batch norm if asked).

  The first entry of the paper's "4096-1024-300" is the input width, so
  `features` is the rest, e.g. (1024, 300). Input (n, d) -> (n, features[-1]).
  """
  features: Sequence[int]
  batch_norm: bool = False
  dtype: Any = None

  @nn.compact
  def __call__(self, x: jax.Array, train: bool = False) -> jax.Array:
    for i, width in enumerate(self.features):
      x = nn.Dense(width, dtype=self.dtype, name=f"dense_{i}")(x)
      if self.batch_norm:
        x = nn.BatchNorm(use_running_average=not train, dtype=self.dtype, name=f"bn_{i}")(x)
      x = nn.relu(x)
    return x


class DRSL(nn.Module):
  """Call: images (n_i, d_i), texts (n_t, d_t) -> relation scores (n_i, n_t).

  `embed_images`, `embed_texts` and `relate` expose the three parts, so that
  evaluation embeds each item once and scores all pairs blockwise.
  `scorer="cosine"` replaces the relation network by the cosine of the two
  embeddings (no parameters of its own; the embeddings are ReLU outputs, so
  scores lie in [0, 1] as the targets do); it needs equal embedding widths.
  """
  image_layers: Sequence[int] = (1024, 300)
  text_layers: Sequence[int] = (1024, 300)
  relation_hidden: int = 1024
  fusion: str = "concat"
  batch_norm: bool = False
  block_size: int = 128
  # How the relation network reduces a tile (RelationNetwork.tile_reduction):
  # "auto" is the unrolled "chunked" sum on CPU, the "dot" product elsewhere.
  tile_reduction: str = "auto"
  scorer: str = "relation"
  dtype: Any = None
  # Split the relation network's rows (images) over this mesh axis
  # (RelationNetwork.row_axis): each device scores 1/N of the pairs.
  row_axis: Any = None
  mesh: Any = None

  def setup(self):
    if self.scorer not in SCORERS:
      raise ValueError(f"scorer: expected one of {SCORERS}, got {self.scorer!r}")
    self.image_net = FNN(self.image_layers, self.batch_norm, self.dtype)
    self.text_net = FNN(self.text_layers, self.batch_norm, self.dtype)
    if self.scorer == "relation":
      self.relation = RelationNetwork(self.relation_hidden, self.fusion, self.block_size,
                                      self.dtype, tile_reduction=self.tile_reduction,
                                      row_axis=self.row_axis, mesh=self.mesh)

  def embed_images(self, images, train: bool = False):
    return self.image_net(images, train)

  def embed_texts(self, texts, train: bool = False):
    return self.text_net(texts, train)

  def relate(self, image_embeddings, text_embeddings):
    if self.scorer == "cosine":
      f32 = jnp.float32
      return l2_normalize(image_embeddings.astype(f32)) @ l2_normalize(
          text_embeddings.astype(f32)).T
    return self.relation(image_embeddings, text_embeddings)

  def __call__(self, images, texts, train: bool = False):
    return self.relate(self.embed_images(images, train), self.embed_texts(texts, train))


def similarity_targets(image_labels: jax.Array, text_labels: jax.Array) -> jax.Array:
  """S (eq. 9): 1 where an image and a text share their class, else 0."""
  return (image_labels[:, None] == text_labels[None, :]).astype(jnp.float32)


def drsl_loss(scores: jax.Array, image_labels: jax.Array, text_labels: jax.Array,
              reduction: str = "sum") -> jax.Array:
  """||R - S||_F^2 (eq. 10); "mean" divides by the number of pairs."""
  sq = jnp.square(scores - similarity_targets(image_labels, text_labels))
  return sq.sum() if reduction == "sum" else sq.mean()
