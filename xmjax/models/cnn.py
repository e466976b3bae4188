"""Small CNN baselines that expose their penultimate features."""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp


class DigitsCNN(nn.Module):
  """Two 3x3 convolutions and a dense layer, for 8x8 grey digits.

  Call: images (B, H, W, C) -> (logits (B, num_classes), features (B, feature_dim)).
  """
  num_classes: int = 10
  width: int = 32
  feature_dim: int = 128
  dtype: Any = None

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False):
    x = images.astype(self.dtype or jnp.float32)
    x = nn.relu(nn.Conv(self.width, (3, 3), dtype=self.dtype)(x))
    x = nn.relu(nn.Conv(2 * self.width, (3, 3), dtype=self.dtype)(x))
    x = nn.avg_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(nn.Dense(self.feature_dim, dtype=self.dtype)(x))
    logits = nn.Dense(self.num_classes, dtype=self.dtype)(features)
    return logits.astype(jnp.float32), features.astype(jnp.float32)


BASELINES = {"digits_cnn": DigitsCNN}


def make_baseline(arch: str, num_classes: int, dtype=None) -> nn.Module:
  if arch not in BASELINES:
    raise ValueError(f"baseline.arch: unknown architecture {arch!r}; choose one of {sorted(BASELINES)}")
  return BASELINES[arch](num_classes=num_classes, dtype=dtype)
