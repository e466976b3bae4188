"""Blocks of RACG (relation-aggregated cross-graph), usable on their own.

- `masked_softmax`: softmax over the True entries of a mask (all-False rows
  give zeros, not NaN).
- `HeadTail`: the head and tail maps kappa(h) = W_k h + b_k, mu(h) = W_m h + b_m
  (eq. 5, Xavier normal).
- `graph_attention`: A_ij = softmax over neighbours j of kappa(h_i) . mu(h_j)
  (eq. 6-9).
- `multi_head_similarity`: eq. 15-19, split both vectors into k heads,
  cosine per head, FC-tanh-FC to one score per node.
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

xavier_normal = nn.initializers.glorot_normal()


def masked_softmax(logits: jax.Array, mask: jax.Array, axis: int = -1) -> jax.Array:
  logits = jnp.where(mask, logits.astype(jnp.float32), -jnp.inf)
  peak = jnp.max(logits, axis=axis, keepdims=True)
  weights = jnp.where(mask, jnp.exp(logits - jnp.where(jnp.isfinite(peak), peak, 0.0)), 0.0)
  return weights / jnp.maximum(weights.sum(axis=axis, keepdims=True), 1e-30)


def l2_normalize(x: jax.Array, axis: int = -1, eps: float = 1e-8) -> jax.Array:
  x = x.astype(jnp.float32)
  return x / jnp.sqrt(jnp.maximum(jnp.sum(x * x, axis=axis, keepdims=True), eps * eps))


class HeadTail(nn.Module):
  """(kappa(h), mu(h)), each a Dense of `features` with Xavier-normal kernels."""
  features: int
  dtype: Any = None
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, h: jax.Array) -> tuple[jax.Array, jax.Array]:
    dense = lambda name: nn.Dense(self.features, kernel_init=xavier_normal, dtype=self.dtype,
                                  param_dtype=self.param_dtype, name=name)
    kappa, mu = dense("kappa"), dense("mu")
    return kappa(h), mu(h)


def graph_attention(heads: jax.Array, tails: jax.Array, neighbours: jax.Array) -> jax.Array:
  """(..., n, m) attention of each head node over its neighbouring tail nodes."""
  logits = jnp.einsum("...id,...jd->...ij", heads, tails, preferred_element_type=jnp.float32)
  return masked_softmax(logits, neighbours, axis=-1)


def multi_head_similarity(h: jax.Array, r: jax.Array, num_heads: int, fc1_kernel, fc1_bias,
                          fc2_kernel, fc2_bias) -> jax.Array:
  """Per-node score of eq. 17-19: (..., n, d) x (..., n, d) -> (..., n).

  d must divide by num_heads; the FC weights are passed in so the function
  can run under vmap over pairs.
  """
  *lead, d = h.shape
  if d % num_heads:
    raise ValueError(f"multi_head_similarity: node width {d} does not split into {num_heads} "
                     f"heads (it must be a multiple of num_heads)")
  if r.shape != h.shape:
    raise ValueError(f"multi_head_similarity: h {h.shape} and r {r.shape} must have one shape")
  split = lambda x: x.reshape(*lead, num_heads, d // num_heads)
  cosine = jnp.sum(l2_normalize(split(h)) * l2_normalize(split(r)), axis=-1)  # (..., n, k)
  hidden = jnp.tanh(cosine @ fc1_kernel + fc1_bias)
  return (hidden @ fc2_kernel + fc2_bias)[..., 0]
