"""Multi-layer perceptron."""

from __future__ import annotations

from typing import Any, Callable, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp

from xmjax.nn.sparse import SparseDense, SparseRows


class MLP(nn.Module):
  """Dense layers with an activation between them.

  Attributes:
    features: output width of each layer, e.g. (16, 16) = one hidden layer of 16.
    activation: applied after every layer but the last (and after the last
      too when `activate_final`).
    activate_final: whether the output is activated (True for hidden
      representations, False for logits).
    layer_norm: per-feature LayerNorm after each activation.
    dtype: computation dtype; None: the inputs' and parameters' promoted
      dtype (flax's rule: bf16 inputs with float32 parameters compute in
      float32).
    param_dtype: dtype the parameters are created in (default float32).
    kernel_init: He (Kaiming) normal by default: it keeps activations from
      shrinking through RR-Net's deep stack of ReLU MLPs, which otherwise
      stalls SGD on the chance-level plateau.

  Input (..., D), or a `xmjax.nn.SparseRows` (N, D) -> output (..., features[-1]).
  """
  features: Sequence[int]
  activation: Callable[[jax.Array], jax.Array] = nn.relu
  activate_final: bool = False
  layer_norm: bool = False
  dtype: Any = None
  kernel_init: Callable = nn.initializers.he_normal()
  param_dtype: Any = jnp.float32

  @nn.compact
  def __call__(self, x: jax.Array) -> jax.Array:
    return mlp_layers(x, self.features, self.activation, self.activate_final, self.layer_norm,
                      self.dtype, self.kernel_init, self.param_dtype)


def mlp_layers(x: jax.Array, features: Sequence[int], activation: Callable = nn.relu,
               activate_final: bool = False, layer_norm: bool = False, dtype: Any = None,
               kernel_init: Callable = nn.initializers.he_normal(),
               param_dtype: Any = jnp.float32) -> jax.Array:
  """MLP's layers, called inside a compact `__call__`: the layers
  (`dense_i`, `norm_i`) become that module's own parameters, so a module
  other than MLP (a scan body, xmjax.nn.chunked) holds MLP's parameter tree."""
  for i, width in enumerate(features):
    # Sparse node attributes (xmjax.nn.SparseRows) enter through the first
    # layer only; SparseDense has nn.Dense's parameters.
    dense = SparseDense if i == 0 and isinstance(x, SparseRows) else nn.Dense
    x = dense(width, dtype=dtype, param_dtype=param_dtype, kernel_init=kernel_init,
              name=f"dense_{i}")(x)
    if i < len(features) - 1 or activate_final:
      x = activation(x)
      if layer_norm:
        x = nn.LayerNorm(dtype=dtype, param_dtype=param_dtype, name=f"norm_{i}")(x)
  return x
