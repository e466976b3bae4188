"""Node attributes held as their nonzero entries: a (rows x cols) matrix
that is mostly zeros, such as each user's ratings over a catalogue of 10^5
items, costs memory in its nonzeros only.

Only linear maps ever read raw node attributes (the first layer of an
encoder MLP, `EdgeConcatDense`'s per-node projections), and a sparse matrix
times a dense kernel is a gather of the kernel's rows and a segment sum:

    (A @ W)[r] = sum over the entries (r, c, a) of A of  a * W[c]

so `SparseRows` goes wherever those layers take a dense (N, D) array, with
the same parameters and, up to float summation order, the same numbers.

    attrs = xmjax.nn.SparseRows.from_coo(users, items, values, (num_users, num_items))
    h = xmjax.nn.project(attrs, kernel)          # (num_users, width)
"""

from __future__ import annotations

from typing import Any

import flax.linen as nn
import flax.struct
import jax
import jax.numpy as jnp


@flax.struct.dataclass
class SparseRows:
  """A (num_rows, num_cols) matrix as its entries: `values[k]` at
  (`rows[k]`, `cols[k]`); repeated positions add up (as
  `zeros.at[rows, cols].add(values)` does). A pytree whose `shape` is static,
  so it passes through `jit`, `vmap`, `lax.map` and `nn.remat`."""
  rows: jax.Array
  cols: jax.Array
  values: jax.Array
  shape: tuple[int, int] = flax.struct.field(pytree_node=False)

  @classmethod
  def from_coo(cls, rows, cols, values, shape) -> "SparseRows":
    rows, cols, values = jnp.asarray(rows), jnp.asarray(cols), jnp.asarray(values)
    if not (rows.ndim == cols.ndim == values.ndim == 1
            and rows.shape == cols.shape == values.shape):
      raise ValueError(f"SparseRows: rows, cols and values must be (nnz,) alike; got shapes "
                       f"{rows.shape}, {cols.shape}, {values.shape}")
    if len(shape) != 2:
      raise ValueError(f"SparseRows: shape must be (num_rows, num_cols), got {shape!r}")
    return cls(rows, cols, values, (int(shape[0]), int(shape[1])))

  @property
  def dtype(self):
    return self.values.dtype

  @property
  def ndim(self) -> int:
    return 2

  @property
  def nnz(self) -> int:
    return self.values.shape[0]

  @property
  def T(self) -> "SparseRows":  # noqa: N802 (numpy's name)
    return SparseRows(self.cols, self.rows, self.values, self.shape[::-1])

  def with_values(self, values: jax.Array) -> "SparseRows":
    return SparseRows(self.rows, self.cols, values, self.shape)

  def todense(self) -> jax.Array:
    return jnp.zeros(self.shape, self.values.dtype).at[self.rows, self.cols].add(self.values)

  def __matmul__(self, kernel: jax.Array) -> jax.Array:
    """(num_rows, num_cols) @ (num_cols, F) -> (num_rows, F): memory nnz x F,
    never num_rows x num_cols."""
    if kernel.ndim != 2 or kernel.shape[0] != self.shape[1]:
      raise ValueError(f"SparseRows @ kernel: kernel must be ({self.shape[1]}, F), "
                       f"got {kernel.shape}")
    terms = self.values.astype(kernel.dtype)[:, None] * kernel[self.cols]
    return jax.ops.segment_sum(terms, self.rows, num_segments=self.shape[0])


def project(x, kernel: jax.Array, dtype: Any = None) -> jax.Array:
  """`x @ kernel` for a dense (N, D) array or a `SparseRows`, in `dtype`
  (default: the promoted dtype of the two)."""
  dtype = dtype or jnp.result_type(x.dtype, kernel.dtype)
  kernel = kernel.astype(dtype)
  if isinstance(x, SparseRows):
    return x @ kernel
  return x.astype(dtype) @ kernel


class SparseDense(nn.Module):
  """`nn.Dense` on a `SparseRows` input: the same parameter names, shapes
  and initialisation, so a model initialised on dense attributes applies to
  sparse ones and back. MLP's first layer becomes one when given SparseRows."""
  features: int
  use_bias: bool = True
  dtype: Any = None
  param_dtype: Any = jnp.float32
  kernel_init: Any = nn.initializers.lecun_normal()
  bias_init: Any = nn.initializers.zeros_init()

  @nn.compact
  def __call__(self, inputs: SparseRows) -> jax.Array:
    kernel = self.param("kernel", self.kernel_init, (inputs.shape[-1], self.features),
                        self.param_dtype)
    dtype = self.dtype or jnp.result_type(inputs.dtype, self.param_dtype)
    out = project(inputs, kernel, dtype)
    if self.use_bias:
      out = out + self.param("bias", self.bias_init, (self.features,),
                             self.param_dtype).astype(dtype)
    return out
