"""Image augmentation that runs on the accelerator inside a jitted step."""

from __future__ import annotations

import jax
import jax.numpy as jnp


def random_crop(images: jax.Array, key: jax.Array, padding: int) -> jax.Array:
  """Zero-pads by `padding` pixels and crops back at a random offset per image.

  images: (B, H, W, C) -> (B, H, W, C).
  """
  if padding == 0:
    return images
  b, h, w, c = images.shape
  padded = jnp.pad(images, ((0, 0), (padding, padding), (padding, padding), (0, 0)))
  offsets = jax.random.randint(key, (b, 2), 0, 2 * padding + 1)

  def crop(image, offset):
    return jax.lax.dynamic_slice(image, (offset[0], offset[1], 0), (h, w, c))

  return jax.vmap(crop)(padded, offsets)


def random_flip(images: jax.Array, key: jax.Array) -> jax.Array:
  """Flips each image left-right with probability 1/2. (B, H, W, C) -> same."""
  flip = jax.random.bernoulli(key, 0.5, (images.shape[0], 1, 1, 1))
  return jnp.where(flip, images[:, :, ::-1, :], images)


def augment(images: jax.Array, key: jax.Array, *, crop_padding: int, flip: bool) -> jax.Array:
  crop_key, flip_key = jax.random.split(key)
  images = random_crop(images, crop_key, crop_padding)
  return random_flip(images, flip_key) if flip else images
