"""RACG: relation-aggregated cross-graph correlation learning (the RACG paper, section III).

Per item (once per image, once per caption; docs/design.md):
  image nodes   h = FC_o(region) || FC_p(box)                       (eq. 1)
  caption nodes h = mean of the two directions of a bi-GRU over
                word and POS embeddings                              (eq. 2-3)
  intra graphs  A = softmax over neighbours of kappa(h_i) . mu(h_j)  (eq. 5-7)
                (all regions; the words' dependency neighbours)
  and the per-item parts of eq. 11: W2 (A W1 h), W2 h, W2 W1 h, and the
  cross-graph maps kappa_c(h), mu_c(h).
Per pair (image, caption), only what couples the two:
  cross graph   A^{C_IT}, A^{C_TI}: regions <-> nouns and adjectives  (eq. 8-9)
  GCN update    c_i = l2norm((1/n) sum_k W2 (A_ik W1 h_k + h_i) + b)  (eq. 10-11)
                with A_ik = (block softmax)_ik / n (eq. 10), i.e.
                = l2norm((W2 A W1 h + A^C (W2 W1 h)) / n^2 + deg_i / n W2 h_i + b)
  correspondence W = softmax_j(lambda h_i . c_j), R = W C            (eq. 12-14)
  similarity    per-node multi-head cosine, FC-tanh-FC, averaged over
                each modality's nodes and the two modalities          (eq. 15-20)
so the cost per pair is a few (nodes x nodes x d) products. Pairs are scored
in blocks (`lax.map` over image blocks, vmapped inside); in training each
block is rematerialised in the backward pass, so memory is one block's.

Choices the paper leaves open (docs/design.md, "RACG"): kappa/mu are
separate for the visual, textual and cross graphs (one pair for both cross
directions); graphs include self loops; the 1/n of eq. 10 and of eq. 11 are
both applied, as written (`literal_scale=False` applies it once: on the
scenes that scored racg/rsum 560.0 vs 572.0 as written); h is
L2-normalised inside eq. 12-13 so lambda = 4 is a temperature on cosines;
FC1 of the similarity head is k -> k. `cross_graph=False` removes the cross
blocks of eq. 10 (the paper's ablation).

Baselines on the same node encoders, loss and training (`scorer`):
"vse" scores a pair by the cosine of the mean region node and the mean word
node (a global embedding, no cross-modal interaction; VSE++-style);
"scan_t2i" is SCAN's text-to-image stacked cross attention with average
pooling (Lee et al. 2018): each word attends to the regions by
softmax_j(9 * cos normalised over words), and the pair's score is the mean
over words of cos(word, its attended region vector).
"""

from __future__ import annotations

from typing import Any, NamedTuple

import flax.linen as nn
import jax
import jax.numpy as jnp

from xmjax import programs
from xmjax.nn.cross_graph import (HeadTail, graph_attention, l2_normalize, masked_softmax,
                                  multi_head_similarity, xavier_normal)


class ImageNodes(NamedTuple):
  """Per-image tensors, leading axes (..., R)."""
  h: jax.Array          # (..., R, d) node features (eq. 1)
  mask: jax.Array       # (..., R) real regions
  message: jax.Array    # W2 A^I W1 h
  self_term: jax.Array  # W2 h
  value: jax.Array      # W2 W1 h (what a neighbour of the other modality receives)
  cross_head: jax.Array  # kappa_c(h)
  cross_tail: jax.Array  # mu_c(h)


class CaptionNodes(NamedTuple):
  """Per-caption tensors, leading axes (..., L)."""
  h: jax.Array
  mask: jax.Array       # real words
  link: jax.Array       # words that link to regions (nouns, adjectives)
  degree: jax.Array     # (..., L) textual neighbours incl. self
  message: jax.Array
  self_term: jax.Array
  value: jax.Array
  cross_head: jax.Array
  cross_tail: jax.Array


TEXT_GRAPHS = ("sparse", "dense")
SCORERS = ("racg", "vse", "scan_t2i")
SCAN_SMOOTH = 9.0   # SCAN's lambda_1 for t2i attention


def dependency_adjacency(heads: jax.Array, mask: jax.Array) -> jax.Array:
  """(..., L, L) bool: word i ~ word j if one heads the other, or i == j."""
  length = heads.shape[-1]
  index = jnp.arange(length)
  adj = (heads[..., :, None] == index) | (heads[..., None, :] == index[:, None])
  adj = adj | (index[:, None] == index)
  return adj & mask[..., :, None] & mask[..., None, :]


def box_features(boxes: jax.Array) -> jax.Array:
  """(..., 4) normalised (x1, y1, x2, y2) -> (..., 5) with the area."""
  area = (boxes[..., 2] - boxes[..., 0]) * (boxes[..., 3] - boxes[..., 1])
  return jnp.concatenate([boxes, area[..., None]], axis=-1)


class RACG(nn.Module):
  """Image-text similarity by relation-aggregated cross graphs.

  Methods (call with `model.apply(variables, ..., method=...)`):
    encode_images(regions (B, R, D), boxes (B, R, 4), mask (B, R)) -> ImageNodes
    encode_captions(tokens, pos, heads (B, L) int, lengths (B,), link (B, L)) -> CaptionNodes
      tokens (B, L) int word ids and pos (B, L) int part-of-speech ids
      (0 = padding, `xmjax.data.text`); heads[b, i] is the index (0..L-1,
      within the caption) of word i's dependency head, -1 for the root word,
      padding and unparsed words (no head edge; every word keeps its self
      loop); lengths are the real words per caption; link (B, L) bool marks
      the words that join the cross graph (nouns and adjectives,
      `Captions.link_mask()`; padding is masked off whatever it says).
    scores(ImageNodes (Bi, ...), CaptionNodes (Bt, ...)) -> (Bi, Bt) float32
    __call__(regions, boxes, region_mask, tokens, pos, heads, lengths, link) -> (B, B)
  """
  vocab_size: int
  num_pos: int
  joint_dim: int = 1024
  position_dim: int = 128
  word_dim: int = 300
  pos_dim: int = 15
  num_heads: int = 64
  temperature: float = 4.0      # lambda of eq. 12-13
  cross_graph: bool = True
  # Eq. 10 divides A by n and eq. 11 divides the sum by n again: messages
  # scaled by 1/n^2 as written (False: 1/n once).
  literal_scale: bool = True
  use_positions: bool = True
  # Words' intra-modal graph: "sparse" = the dependency parse (a chain
  # without a parser), "dense" = every pair of words (GSMN's two text
  # graphs; the paper's "*" rows ensemble a sparse and a dense model).
  text_graph: str = "sparse"
  # How a pair is scored: "racg" (eq. 8-20), or a baseline on the same
  # node encoders: "vse" (pooled cosine), "scan_t2i" (SCAN t2i attention).
  scorer: str = "racg"
  image_block: int = 8          # images per scored block
  caption_block: int = 0        # captions per scored block (0 = all at once)
  dtype: Any = None

  def setup(self):
    if self.text_graph not in TEXT_GRAPHS:
      raise ValueError(f"text_graph: {self.text_graph!r} is not one of {TEXT_GRAPHS}")
    if self.scorer not in SCORERS:
      raise ValueError(f"scorer: {self.scorer!r} is not one of {SCORERS}")
    d, dt = self.joint_dim, self.dtype
    if d % self.num_heads:
      raise ValueError(f"joint_dim {d} does not split into {self.num_heads} heads")
    object_dim = d - self.position_dim if self.use_positions else d
    self.fc_object = nn.Dense(object_dim, dtype=dt)
    if self.use_positions:
      self.fc_position = nn.Dense(self.position_dim, dtype=dt)
    self.word_embed = nn.Embed(self.vocab_size, self.word_dim)
    self.pos_embed = nn.Embed(self.num_pos, self.pos_dim)
    self.bigru = nn.Bidirectional(nn.RNN(nn.GRUCell(d, dtype=dt)), nn.RNN(nn.GRUCell(d, dtype=dt)),
                                  merge_fn=_mean_of_directions)
    self.visual_maps = HeadTail(d, dt)
    self.text_maps = HeadTail(d, dt)
    self.cross_maps = HeadTail(d, dt)
    self.w1 = nn.Dense(d, use_bias=False, kernel_init=xavier_normal, dtype=dt)
    self.w2 = nn.Dense(d, use_bias=False, kernel_init=xavier_normal, dtype=dt)
    self.gcn_bias = self.param("gcn_bias", nn.initializers.zeros, (d,))
    k = self.num_heads
    self.similarity = {
        side: (self.param(f"{side}_fc1_kernel", xavier_normal, (k, k)),
               self.param(f"{side}_fc1_bias", nn.initializers.zeros, (k,)),
               self.param(f"{side}_fc2_kernel", xavier_normal, (k, 1)),
               self.param(f"{side}_fc2_bias", nn.initializers.zeros, (1,)))
        for side in ("image", "text")}

  def _per_item(self, h, neighbours, maps):
    heads, tails = maps(h)
    attention = graph_attention(heads, tails, neighbours)
    projected = self.w1(h)
    message = self.w2(jnp.einsum("...ij,...jd->...id", attention.astype(projected.dtype),
                                 projected))
    cross_head, cross_tail = self.cross_maps(h)
    return message, self.w2(h), self.w2(projected), cross_head, cross_tail

  def encode_images(self, regions, boxes, mask) -> ImageNodes:
    h = self.fc_object(regions.astype(self.dtype or jnp.float32))
    if self.use_positions:
      h = jnp.concatenate([h, self.fc_position(box_features(boxes))], axis=-1)
    neighbours = mask[..., :, None] & mask[..., None, :]   # fully connected regions
    return ImageNodes(h, mask, *self._per_item(h, neighbours, self.visual_maps))

  def encode_captions(self, tokens, pos, heads, lengths, link) -> CaptionNodes:
    x = jnp.concatenate([self.word_embed(tokens), self.pos_embed(pos)], axis=-1)
    x = x.astype(self.dtype or jnp.float32)
    if self.is_initializing():
      h = self.bigru(x, seq_lengths=lengths)
    else:   # the same GRU through a jitted function: eager calls compile once per shape
      h = run_bidirectional_gru(self.bigru.variables, x, lengths, features=self.joint_dim,
                                dtype=self.dtype)
    mask = jnp.arange(tokens.shape[-1]) < lengths[..., None]
    if self.text_graph == "dense":
      adjacency = mask[..., :, None] & mask[..., None, :]
    else:
      adjacency = dependency_adjacency(heads, mask)
    degree = adjacency.sum(-1).astype(jnp.float32)
    return CaptionNodes(h, mask, link & mask, degree,
                        *self._per_item(h, adjacency, self.text_maps))

  def _settings(self) -> "ScoreSettings":
    return ScoreSettings(self.scorer, self.cross_graph, self.literal_scale,
                         float(self.temperature), self.num_heads)

  def cross_message_share(self, images: ImageNodes, captions: CaptionNodes) -> dict:
    """For pairs (images[i], captions[i]): at region nodes and at the words
    linked to regions, the summed norm of the cross-modal message over the
    summed norm of the self term (how much the cross graph moves a node),
    one value per pair."""
    settings = self._settings()

    def one(image, caption):
      terms = node_terms(image, caption, settings)
      out = {}
      for side, mask in (("regions", image.mask), ("words", caption.link)):
        _, cross, self_term = terms[side]
        norm = lambda x: jnp.sum(jnp.where(mask, jnp.linalg.norm(x.astype(jnp.float32), axis=-1),
                                           0.0))
        out[side] = norm(cross) / jnp.maximum(norm(self_term), 1e-12)
      return out
    return jax.vmap(one)(images, captions)

  def scores(self, images: ImageNodes, captions: CaptionNodes, remat: bool = False) -> jax.Array:
    """(Bi, Bt) similarity of every image with every caption, in blocks
    (`all_pair_scores`, jitted once per shape)."""
    num_images, num_captions = images.mask.shape[0], captions.mask.shape[0]
    return all_pair_scores((self.gcn_bias, self.similarity), images, captions,
                           settings=self._settings(),
                           image_block=min(self.image_block or num_images, num_images),
                           caption_block=min(self.caption_block or num_captions, num_captions),
                           remat=remat)

  def __call__(self, regions, boxes, region_mask, tokens, pos, heads, lengths, link):
    images = self.encode_images(regions, boxes, region_mask)
    captions = self.encode_captions(tokens, pos, heads, lengths, link)
    return self.scores(images, captions, remat=True)


def _mean_of_directions(forward, backward):
  return (forward + backward) / 2


def bidirectional_gru(features: int, dtype: Any = None, parent: Any = None) -> nn.Bidirectional:
  """RACG's text encoder: a bidirectional GRU, the two directions averaged
  (`parent=None`: unbound, even when made inside another module's method)."""
  direction = lambda: nn.RNN(nn.GRUCell(features, dtype=dtype, parent=None), parent=None)
  return nn.Bidirectional(direction(), direction(), merge_fn=_mean_of_directions,
                          parent=parent)


@programs.jit(static_argnames=("features", "dtype"))
def run_bidirectional_gru(variables, x, lengths, *, features: int, dtype: Any = None):
  """`bidirectional_gru(features, dtype)` applied with `variables`. A flax
  RNN traces its scan anew on every call, so eager calls would recompile;
  under this module-level jit they compile once per shape."""
  return bidirectional_gru(features, dtype, parent=None).apply(variables, x, seq_lengths=lengths)


class ScoreSettings(NamedTuple):
  """The static part of RACG's pair score (hashable: a jit static argument)."""
  scorer: str
  cross_graph: bool
  literal_scale: bool
  temperature: float
  num_heads: int


def node_terms(image: ImageNodes, caption: CaptionNodes, settings: ScoreSettings) -> dict:
  """The three terms of eq. 9-11 at every region and word node of one pair,
  each scaled as it enters the node: the intra-modal message, the
  cross-modal message (zero without the cross graph) and the self term."""
  f32 = jnp.float32
  n_regions = image.mask.sum().astype(f32)
  # A pair of two dummy items (a padded batch) has no node at all: n = 0
  # would make every term 0/0, NaN that reaches the gradient through the
  # masked mean's untaken branch even when the pair is out of the loss.
  # Its terms are all zero anyway, so any positive n gives the same score.
  n = jnp.maximum(n_regions + caption.mask.sum().astype(f32), 1.0)
  message_scale = n * n if settings.literal_scale else n
  region_cross = jnp.zeros_like(image.message)
  word_cross = jnp.zeros_like(caption.message)
  region_degree = jnp.broadcast_to(n_regions, image.mask.shape)
  word_degree = caption.degree
  if settings.cross_graph:
    to_words = masked_softmax(image.cross_head @ caption.cross_tail.T,
                              image.mask[:, None] & caption.link[None, :])
    to_regions = masked_softmax(caption.cross_head @ image.cross_tail.T,
                                caption.link[:, None] & image.mask[None, :])
    region_cross = to_words.astype(caption.value.dtype) @ caption.value
    word_cross = to_regions.astype(image.value.dtype) @ image.value
    region_degree = region_degree + caption.link.sum()
    word_degree = word_degree + n_regions * caption.link
  return {
      "regions": (image.message / message_scale, region_cross / message_scale,
                  (region_degree / n)[:, None] * image.self_term),
      "words": (caption.message / message_scale, word_cross / message_scale,
                (word_degree / n)[:, None] * caption.self_term)}


def pair_score(weights, image: ImageNodes, caption: CaptionNodes,
               settings: ScoreSettings) -> jax.Array:
  """S of one (image, caption) pair (eq. 8-20, or the baseline scorer).
  weights: (gcn_bias, {"image"|"text": similarity-head parameters})."""
  if settings.scorer == "vse":
    return _pooled_cosine(image.h, image.mask, caption.h, caption.mask)
  if settings.scorer == "scan_t2i":
    return _scan_t2i(image.h, image.mask, caption.h, caption.mask)
  gcn_bias, similarity = weights
  f32 = jnp.float32
  n_regions = image.mask.sum().astype(f32)
  n_words = caption.mask.sum().astype(f32)
  terms = node_terms(image, caption, settings)
  c_regions = l2_normalize(sum(terms["regions"]) + gcn_bias)
  c_words = l2_normalize(sum(terms["words"]) + gcn_bias)
  nodes = jnp.concatenate([c_regions, c_words], axis=0)
  node_mask = jnp.concatenate([image.mask, caption.mask], axis=0)

  def reconstruct(h):
    weights = masked_softmax(settings.temperature * l2_normalize(h) @ nodes.T,
                             node_mask[None, :])
    return weights @ nodes

  s_image = multi_head_similarity(image.h, reconstruct(image.h), settings.num_heads,
                                  *similarity["image"])
  s_text = multi_head_similarity(caption.h, reconstruct(caption.h), settings.num_heads,
                                 *similarity["text"])
  mean = lambda s, m, count: jnp.sum(jnp.where(m, s, 0.0)) / jnp.maximum(count, 1.0)
  return 0.5 * (mean(s_image, image.mask, n_regions) + mean(s_text, caption.mask, n_words))


# XLA options for compiling a program that differentiates RACG's scores (a
# training step). jaxlib 0.10.2's GPU compiler rejects the backward pass
# for an H100 ("INTERNAL: Couldn't find output tile sizes that satisfy hlo:
# ... dot"): the gradient of the cross-graph logits with respect to a
# caption shared by a block's images contracts over (image, region), which
# its Triton GEMM fusion reaches through a transpose and cannot tile. With
# Triton GEMMs off those dots go to cuBLAS and the step compiles
# (tests/test_accelerator_compile.py compiles it for an H100); the CPU and
# TPU compilers ignore the option. Forward programs compile without it.
TRAINING_COMPILER_OPTIONS = {"xla_gpu_enable_triton_gemm": False}


@programs.jit(static_argnames=("settings", "image_block", "caption_block", "remat"))
def all_pair_scores(weights, images: ImageNodes, captions: CaptionNodes, *,
                    settings: ScoreSettings, image_block: int, caption_block: int,
                    remat: bool = False) -> jax.Array:
  """(Bi, Bt) `pair_score` of every image with every caption, in
  (image_block x caption_block) tiles under `lax.map`. Jitted at module
  level: eager calls compile once per shape, not on every call."""
  num_images, num_captions = images.mask.shape[0], captions.mask.shape[0]

  def image_vs_captions(image, caption_block_nodes):
    return jax.vmap(lambda c: pair_score(weights, image, c, settings))(caption_block_nodes)

  def one_block(image_block_nodes, caption_block_nodes):
    return jax.vmap(image_vs_captions, in_axes=(0, None))(image_block_nodes, caption_block_nodes)

  if remat:  # training: keep one block's intermediates at a time in the backward pass
    one_block = jax.checkpoint(one_block)
  image_tiles = _blocks(images, image_block)
  caption_tiles = _blocks(captions, caption_block)

  def row(image_block_nodes):
    cols = jax.lax.map(lambda c: one_block(image_block_nodes, c), caption_tiles)
    return jnp.moveaxis(cols, 0, 1).reshape(image_block, -1)

  rows = jax.lax.map(row, image_tiles)
  return rows.reshape(-1, rows.shape[-1])[:num_images, :num_captions]


def _pooled_cosine(regions, region_mask, words, word_mask) -> jax.Array:
  """cos(mean of the real regions, mean of the real words)."""
  def mean(h, mask):
    w = mask.astype(jnp.float32)[:, None]
    return jnp.sum(h.astype(jnp.float32) * w, 0) / jnp.maximum(w.sum(), 1.0)
  return jnp.sum(l2_normalize(mean(regions, region_mask)) * l2_normalize(mean(words, word_mask)))


def _scan_t2i(regions, region_mask, words, word_mask) -> jax.Array:
  """SCAN t2i, AVG pooling: word i attends to the regions by
  softmax_j(lambda * [cos_ij]_+ / ||[cos_:j]_+||_words); score = mean_i
  cos(word_i, sum_j alpha_ij region_j)."""
  f32 = jnp.float32
  r, w = l2_normalize(regions.astype(f32)), l2_normalize(words.astype(f32))
  cos = w @ r.T                                               # (L, R)
  real = word_mask[:, None] & region_mask[None, :]
  clipped = jnp.where(real, jax.nn.leaky_relu(cos, 0.1), 0.0)
  # eps inside the root: a padding region's column is all zero (finite gradient).
  normalised = clipped / jnp.sqrt(jnp.sum(clipped ** 2, 0, keepdims=True) + 1e-12)
  alpha = masked_softmax(SCAN_SMOOTH * normalised, real)
  attended = alpha @ regions.astype(f32)                      # (L, d)
  relevance = jnp.sum(w * l2_normalize(attended), -1)
  count = jnp.maximum(word_mask.sum().astype(f32), 1.0)
  return jnp.sum(jnp.where(word_mask, relevance, 0.0)) / count


def _blocks(tree, block: int):
  """Pads the leading axis to a multiple of `block` (mask False) and splits it."""
  def split(x):
    n = x.shape[0]
    x = jnp.pad(x, ((0, -n % block),) + ((0, 0),) * (x.ndim - 1))
    return x.reshape((-1, block) + x.shape[1:])
  return jax.tree.map(split, tree)


def triplet_loss(scores: jax.Array, positives: jax.Array, *, margin: float = 0.2,
                 aux_weight: float = 0.2, beta: float = 0.7, gamma: float = 0.3,
                 ) -> tuple[jax.Array, dict[str, jax.Array]]:
  """Eq. 21-23 over a (B, B) score matrix whose diagonal pairs match.

  positives: (B, B) bool, pairs that match (the diagonal, plus any other
  caption of the same image in the batch); they are never negatives.
  Hardest negatives per row (image -> captions) and per column. Sums over
  the batch, as the paper writes it.
  """
  matched = jnp.diagonal(scores)
  negatives = jnp.where(positives, -jnp.inf, scores)
  hardest_caption = jnp.max(negatives, axis=1)   # S(I, T^)
  hardest_image = jnp.max(negatives, axis=0)     # S(I^, T)
  finite = lambda x: jnp.where(jnp.isfinite(x), x, -1e4)
  hardest_caption, hardest_image = finite(hardest_caption), finite(hardest_image)
  main = (jax.nn.relu(margin - matched + hardest_caption)
          + jax.nn.relu(margin - matched + hardest_image)).sum()
  aux = (jax.nn.relu(hardest_caption - gamma) + jax.nn.relu(hardest_image - gamma)
         + jax.nn.relu(beta - matched)).sum()
  return main + aux_weight * aux, {"main_loss": main, "aux_loss": aux}


# ----------------------------------------------------------------------------
# Evaluation programs: a trained RACG's parameters over whole test sets.


def encode_in_blocks(fn, arrays, block: int):
  """`fn(*arrays)` over the leading axis `block` rows at a time under
  `lax.map` (the last block padded with zeros, its padding cut off)."""
  n = arrays[0].shape[0]
  blocks = [jnp.pad(a, ((0, -n % block),) + ((0, 0),) * (a.ndim - 1)).reshape(
      (-1, block) + a.shape[1:]) for a in arrays]
  encoded = jax.lax.map(lambda xs: fn(*xs), blocks)
  return jax.tree.map(lambda x: x.reshape((-1,) + x.shape[2:])[:n], encoded)


def similarity_matrix(params, images, captions, *, model: RACG, image_block: int,
                      caption_block: int):
  """(n_images, n_captions) scores: items encoded once in blocks, then every
  pair scored in (image_block x caption_block) tiles, all in one program."""
  variables = {"params": params}
  image_nodes = encode_in_blocks(
      lambda *x: model.apply(variables, *x, method=RACG.encode_images), images, image_block)
  caption_nodes = encode_in_blocks(
      lambda *x: model.apply(variables, *x, method=RACG.encode_captions), captions, caption_block)
  scorer = model.clone(image_block=image_block, caption_block=caption_block)
  return scorer.apply(variables, image_nodes, caption_nodes, method=RACG.scores)


def matched_cross_shares(params, images, captions, *, model: RACG):
  """Per (caption, its own image) pair: the cross-message share at region
  and word nodes (RACG.cross_message_share)."""
  variables = {"params": params}
  image_nodes = model.apply(variables, *images, method=RACG.encode_images)
  caption_nodes = model.apply(variables, *captions, method=RACG.encode_captions)
  return model.apply(variables, image_nodes, caption_nodes, method=RACG.cross_message_share)
