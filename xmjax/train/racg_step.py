"""RACG's training step and its evaluation programs over whole test sets,
as `xmjax.train.experiments.racg_retrieval` runs them.

    state, metrics = train_step(state, images, captions, image_ids, margin=0.2,
                                aux_weight=0.2, beta=0.7, gamma=0.3)
    sims = evaluate(config, model, params, test_images, test_captions)   # (n_img, n_cap)
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
import numpy as np

from xmjax.data.image_text import LENGTH_MULTIPLE, caption_arrays, image_arrays
from xmjax.data.scenes import Images
from xmjax.data.text import Captions
from xmjax.models.racg import matched_cross_shares, similarity_matrix, triplet_loss
from xmjax.train.runner import compiled
from xmjax.train.state import TrainState

__all__ = ["cross_share_results", "evaluate", "train_step"]


def train_step(state: TrainState, images, captions, image_ids, *, margin, aux_weight, beta,
               gamma):
  """One step: all B x B pairs of the batch scored; triplet + auxiliary loss."""
  positives = image_ids[:, None] == image_ids[None, :]

  def loss_fn(params):
    scores = state.apply_fn({"params": params}, *images, *captions)
    loss, parts = triplet_loss(scores, positives, margin=margin, aux_weight=aux_weight,
                               beta=beta, gamma=gamma)
    return loss, (scores, parts)

  (loss, (scores, parts)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.params)
  state = state.apply_gradients(grads=grads)
  recall = jnp.mean(jnp.argmax(scores, axis=1) == jnp.arange(scores.shape[0]))
  return state, {"loss": loss, **parts, "batch_i2t_r1": recall}


def evaluate(config, model, params, images: Images, captions: Captions) -> np.ndarray:
  """Every test image against every test caption. Captions are grouped by
  padded length (at most max_length / LENGTH_MULTIPLE groups, one program
  each), so short captions are scored at their own length."""
  image_inputs = image_arrays(images, np.arange(len(images)))
  image_block = min(config.model.eval_image_block, len(images))
  buckets = -(-captions.lengths // LENGTH_MULTIPLE)
  sims = np.zeros((len(images), len(captions)), np.float32)
  for bucket in np.unique(buckets):
    columns = np.flatnonzero(buckets == bucket)
    sims_block = compiled(similarity_matrix, model=model, image_block=image_block,
                          caption_block=min(config.model.eval_caption_block, len(columns)))(
        params, image_inputs, caption_arrays(captions, columns))
    sims[:, columns] = np.asarray(jax.device_get(sims_block), np.float32)
  return sims


def cross_share_results(config, model, params, images: Images, captions: Captions,
                        prefix: str, block: int = 250) -> dict[str, float]:
  """How much the cross graph moves the nodes of matching pairs: the mean
  over test captions of `prefix/cross_share_regions` and
  `prefix/cross_share_words` (cross-modal message norm over self-term norm,
  RACG.cross_message_share). Blocks of captions, the last one padded by
  repeating its final row, so one program serves them all."""
  n = len(captions)
  block = min(block, n)
  totals = {"regions": 0.0, "words": 0.0}
  for start in range(0, n, block):
    rows = np.minimum(np.arange(start, start + block), n - 1)
    shares = compiled(matched_cross_shares, model=model)(
        params, image_arrays(images, captions.image_index[rows]), caption_arrays(captions, rows))
    real = min(block, n - start)
    for side in totals:
      totals[side] += float(np.asarray(shares[side])[:real].sum())
  return {f"{prefix}/cross_share_{side}": total / n for side, total in totals.items()}
