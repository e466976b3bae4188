"""SDML: Scalable Deep Multimodal Learning.

One deep supervised autoencoder (DSAE) per modality maps into a common
subspace fixed in advance by a column-orthogonal matrix P (d x c). The
networks share no parameter, so they train independently, and a new
modality trains alone against the saved P.
"""

from __future__ import annotations

from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np


class DSAE(nn.Module):
  """Encoder in->1024->1024->512 (common space, L2-normalised) and decoder
  512->1024->1024->in, ReLU between layers, none on the code or the output.

  Call: x (n, in) -> (h (n, d) unit rows, x_hat (n, in)).
  """
  input_dim: int
  hidden: Sequence[int] = (1024, 1024)
  code_dim: int = 512
  dtype: Any = None

  def setup(self):
    self.encoder = [nn.Dense(w, dtype=self.dtype) for w in (*self.hidden, self.code_dim)]
    self.decoder = [nn.Dense(w, dtype=self.dtype)
                    for w in (*reversed(self.hidden), self.input_dim)]

  def encode(self, x):
    for i, layer in enumerate(self.encoder):
      x = layer(x)
      if i < len(self.encoder) - 1:
        x = nn.relu(x)
    x = x.astype(jnp.float32)
    return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)

  def decode(self, h):
    for i, layer in enumerate(self.decoder):
      h = layer(h)
      if i < len(self.decoder) - 1:
        h = nn.relu(h)
    return h.astype(jnp.float32)

  def __call__(self, x):
    h = self.encode(x)
    return h, self.decode(h)


def orthogonal_projection(seed: int, code_dim: int, num_classes: int) -> np.ndarray:
  """P: the first `num_classes` columns of a random orthogonal code_dim x
  code_dim matrix (QR of a Gaussian, signs fixed), float32, from `seed` only."""
  if num_classes > code_dim:
    raise ValueError(f"num_classes ({num_classes}) must not exceed code_dim ({code_dim})")
  rng = np.random.default_rng([seed, 7])
  q, r = np.linalg.qr(rng.standard_normal((code_dim, code_dim)))
  q = q * np.sign(np.diag(r))[None, :]
  return q[:, :num_classes].astype(np.float32)


def sdml_loss(h, x_hat, x, labels, projection, *, balance: float = 0.5) -> jax.Array:
  """Batch mean of balance * ||x_hat - x|| + (1 - balance) * ||P^T h - y||
  (norms, not squares; eq. 1). Rows with label < 0 (unlabelled) contribute
  only the reconstruction term."""
  reconstruction = jnp.linalg.norm(x_hat - x.astype(jnp.float32), axis=-1)
  num_classes = projection.shape[1]
  onehot = jax.nn.one_hot(labels, num_classes)
  supervised = jnp.linalg.norm(h @ projection - onehot, axis=-1)
  supervised = jnp.where(labels >= 0, supervised, 0.0)
  return jnp.mean(balance * reconstruction + (1 - balance) * supervised)
