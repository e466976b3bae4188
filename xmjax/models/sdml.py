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

from xmjax import random_streams
from xmjax.nn.aggregation import is_concrete


def pytorch_dense_init(fan_in: int):
  """(kernel_init, bias_init) of PyTorch's nn.Linear: both uniform in
  +-1/sqrt(fan_in) (kaiming_uniform with a = sqrt(5)). Flax's default is
  lecun_normal weights (three times the variance) and zero biases; the
  SDML authors' networks start from PyTorch's."""
  bound = 1.0 / np.sqrt(fan_in)

  def bias_init(key, shape, dtype=jnp.float32):
    return jax.random.uniform(key, shape, dtype, -bound, bound)

  return nn.initializers.variance_scaling(1 / 3, "fan_in", "uniform"), bias_init


INITS = ("pytorch", "flax")


def _l2_normalize(x):
  x = x.astype(jnp.float32)
  return x / jnp.maximum(jnp.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


class DSAE(nn.Module):
  """Encoder in->1024->1024->512 (common space, L2-normalised) and decoder
  512->1024->1024->in, ReLU between layers, none on the code or the output.

  The authors' decoder is the encoder's network class run from the code
  back to the input width, so its output is L2-normalised too
  (`normalize_decoder`, default on); off gives a linear reconstruction.
  `initializer`: "pytorch" (the authors' nn.Linear defaults) or "flax".

  Call: x (n, in) -> (h (n, d) unit rows, x_hat (n, in)).
  """
  input_dim: int
  hidden: Sequence[int] = (1024, 1024)
  code_dim: int = 512
  normalize_decoder: bool = True
  initializer: str = "pytorch"
  dtype: Any = None

  def setup(self):
    if self.initializer not in INITS:
      raise ValueError(f"model.initializer: unknown {self.initializer!r}; choose one of {INITS}")
    self.encoder = self._layers((self.input_dim, *self.hidden, self.code_dim))
    self.decoder = self._layers((self.code_dim, *reversed(self.hidden), self.input_dim))

  def _layers(self, widths):
    layers = []
    for fan_in, width in zip(widths[:-1], widths[1:]):
      inits = {}
      if self.initializer == "pytorch":
        inits = dict(zip(("kernel_init", "bias_init"), pytorch_dense_init(fan_in)))
      layers.append(nn.Dense(width, dtype=self.dtype, **inits))
    return layers

  @staticmethod
  def _mlp(layers, x):
    for i, layer in enumerate(layers):
      x = layer(x)
      if i < len(layers) - 1:
        x = nn.relu(x)
    return x

  def encode(self, x):
    return _l2_normalize(self._mlp(self.encoder, x))

  def decode(self, h):
    x_hat = self._mlp(self.decoder, h)
    return _l2_normalize(x_hat) if self.normalize_decoder else x_hat.astype(jnp.float32)

  def __call__(self, x):
    if x.shape[-1] != self.input_dim:
      raise ValueError(f"DSAE: input of width {x.shape[-1]} (shape {tuple(x.shape)}) for an "
                       f"autoencoder of input_dim={self.input_dim}")
    h = self.encode(x)
    return h, self.decode(h)


def orthogonal_projection(seed: int, code_dim: int, num_classes: int) -> np.ndarray:
  """P: the first `num_classes` columns of a random orthogonal code_dim x
  code_dim matrix (QR of a Gaussian, signs fixed), float32, from `seed` only."""
  if num_classes > code_dim:
    raise ValueError(f"num_classes ({num_classes}) must not exceed code_dim ({code_dim})")
  rng = random_streams.generator(seed, random_streams.SDML_PROJECTION)
  q, r = np.linalg.qr(rng.standard_normal((code_dim, code_dim)))
  q = q * np.sign(np.diag(r))[None, :]
  return q[:, :num_classes].astype(np.float32)


def sdml_loss_terms(h, x_hat, x, labels, projection) -> tuple[jax.Array, jax.Array]:
  """(reconstruction, supervised): the batch mean of ||x_hat - x|| over all
  rows, and of ||P^T h - y|| over the labelled rows only (label >= 0), as
  the authors average them; 0 when no row is labelled."""
  num_classes = projection.shape[1]
  if x_hat.shape != x.shape:
    raise ValueError(f"sdml_loss: reconstruction x_hat {tuple(x_hat.shape)} and input x "
                     f"{tuple(x.shape)} must have one shape")
  if is_concrete(labels) and np.any(np.asarray(labels) >= num_classes):
    raise ValueError(f"sdml_loss: label {int(np.max(np.asarray(labels)))} is not below the "
                     f"{num_classes} classes of the projection (labels are 0..{num_classes - 1}, "
                     "or -1 for unlabelled rows)")
  reconstruction = jnp.mean(jnp.linalg.norm(x_hat - x.astype(jnp.float32), axis=-1))
  labelled = labels >= 0
  onehot = jax.nn.one_hot(labels, num_classes)
  supervised = jnp.linalg.norm(h @ projection - onehot, axis=-1)
  supervised = jnp.sum(jnp.where(labelled, supervised, 0.0)) / jnp.maximum(jnp.sum(labelled), 1)
  # Traced labels cannot raise: one out of range makes the loss NaN (loud),
  # where one_hot alone would silently give it an all-zero target.
  supervised = jnp.where(jnp.any(labels >= num_classes), jnp.nan, supervised)
  return reconstruction, supervised


def sdml_loss(h, x_hat, x, labels, projection, *, balance: float = 0.5) -> jax.Array:
  """balance * mean ||x_hat - x|| + (1 - balance) * mean ||P^T h - y||
  (norms, not squares; eq. 1), the supervised mean over labelled rows only."""
  reconstruction, supervised = sdml_loss_terms(h, x_hat, x, labels, projection)
  return balance * reconstruction + (1 - balance) * supervised
