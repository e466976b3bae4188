"""Multi-layer perceptron."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax


class MLP(nn.Module):
  """Dense layers with an activation between them.

  Attributes:
    features: output width of each layer, e.g. (16, 16) = one hidden layer of 16.
    activation: applied after every layer but the last (and after the last
      too when `activate_final`).
    activate_final: whether the output is activated (True for hidden
      representations, False for logits).
    layer_norm: per-feature LayerNorm after each activation.
    dtype: computation dtype (params stay float32).
    kernel_init: He (Kaiming) normal by default: it keeps activations from
      shrinking through RR-Net's deep stack of ReLU MLPs, which otherwise
      stalls SGD on the chance-level plateau.

  Input (..., D) -> output (..., features[-1]).
  """
  features: Sequence[int]
  activation: Callable[[jax.Array], jax.Array] = nn.relu
  activate_final: bool = False
  layer_norm: bool = False
  dtype: Any = None
  kernel_init: Callable = nn.initializers.he_normal()

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    for i, width in enumerate(self.features):
      x = nn.Dense(width, dtype=self.dtype, kernel_init=self.kernel_init, name=f"dense_{i}")(x)
      if i < len(self.features) - 1 or self.activate_final:
        x = self.activation(x)
        if self.layer_norm:
          x = nn.LayerNorm(dtype=self.dtype, name=f"norm_{i}")(x)
    return x
