"""CNN baselines (and an MLP for feature vectors) that expose their penultimate features.

Every baseline is called as `model(images, train)` on (B, H, W, C) images
(`mlp`: (B, d) feature vectors) and
returns (logits (B, num_classes) float32, features (B, feature_dim) float32),
so the RR-Net stage can build its graph on the features. The CIFAR variants
of ResNet and MobileNetV2 use a 3x3 stride-1 stem and no max-pool (32x32
inputs); `width` scales every channel count (1.0 = the papers' networks, with
512 / 2048 / 1280 features), for smoke tests on a CPU.
"""

from __future__ import annotations

import functools
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp


class DigitsCNN(nn.Module):
  """Two 3x3 convolutions and a dense layer, for 8x8 grey digits."""
  num_classes: int = 10
  width: float = 1.0
  dtype: Any = None

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False):
    channels = max(1, round(32 * self.width))
    x = images.astype(self.dtype or jnp.float32)
    x = nn.relu(nn.Conv(channels, (3, 3), dtype=self.dtype)(x))
    x = nn.relu(nn.Conv(2 * channels, (3, 3), dtype=self.dtype)(x))
    x = nn.avg_pool(x, (2, 2), strides=(2, 2))
    x = x.reshape(x.shape[0], -1)
    features = nn.relu(nn.Dense(4 * channels, dtype=self.dtype)(x))
    logits = nn.Dense(self.num_classes, dtype=self.dtype)(features)
    return logits.astype(jnp.float32), features.astype(jnp.float32)


class FeatureMLP(nn.Module):
  """Two ReLU layers of 256 x width units over feature vectors (B, d) (the
  baseline for data that comes as features, e.g. UCI Multiple Features)."""
  num_classes: int = 10
  width: float = 1.0
  dtype: Any = None

  @nn.compact
  def __call__(self, features: jax.Array, train: bool = False):
    x = features.reshape(features.shape[0], -1).astype(self.dtype or jnp.float32)
    for _ in range(2):
      x = nn.relu(nn.Dense(_channels(256, self.width), dtype=self.dtype)(x))
    logits = nn.Dense(self.num_classes, dtype=self.dtype)(x)
    return logits.astype(jnp.float32), x.astype(jnp.float32)


class SpectrogramCNN(nn.Module):
  """Three 3x3 convolution + BatchNorm + ReLU blocks (32, 64, 128 channels x
  width), 2x2 max-pooling after the first two, then a global average pool:
  a small baseline for (frequency, time, 1) spectrograms (ESC), whose
  128-wide pooled features are RR-Net's instance attributes."""
  num_classes: int = 50
  width: float = 1.0
  dtype: Any = None

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False):
    conv, norm = _conv_and_norm(self.dtype, train)
    x = images.astype(self.dtype or jnp.float32)
    for i, base in enumerate((32, 64, 128)):
      x = nn.relu(norm()(conv(_channels(base, self.width), (3, 3))(x)))
      if i < 2:
        x = nn.max_pool(x, (2, 2), strides=(2, 2))
    return _pool_and_classify(x, self.num_classes, self.dtype)


def _channels(base: int, width: float) -> int:
  return max(1, round(base * width))


class BasicBlock(nn.Module):
  """ResNet-18/34 block: two 3x3 convolutions, identity or 1x1 projection shortcut."""
  channels: int
  strides: int
  conv: Any
  norm: Any

  @nn.compact
  def __call__(self, x):
    y = nn.relu(self.norm()(self.conv(self.channels, (3, 3), self.strides)(x)))
    y = self.norm(scale_init=nn.initializers.zeros)(self.conv(self.channels, (3, 3))(y))
    if x.shape != y.shape:
      x = self.norm()(self.conv(self.channels, (1, 1), self.strides)(x))
    return nn.relu(x + y)


class Bottleneck(nn.Module):
  """ResNet-50 block: 1x1 reduce, 3x3, 1x1 expand (x4)."""
  channels: int
  strides: int
  conv: Any
  norm: Any

  @nn.compact
  def __call__(self, x):
    y = nn.relu(self.norm()(self.conv(self.channels, (1, 1))(x)))
    y = nn.relu(self.norm()(self.conv(self.channels, (3, 3), self.strides)(y)))
    y = self.norm(scale_init=nn.initializers.zeros)(self.conv(4 * self.channels, (1, 1))(y))
    if x.shape != y.shape:
      x = self.norm()(self.conv(4 * self.channels, (1, 1), self.strides)(x))
    return nn.relu(x + y)


def _conv_and_norm(dtype, train: bool):
  # Normalisation statistics are reduced in float32 even under bfloat16.
  conv = functools.partial(nn.Conv, use_bias=False, dtype=dtype,
                           kernel_init=nn.initializers.variance_scaling(2.0, "fan_out", "normal"))
  norm = functools.partial(nn.BatchNorm, use_running_average=not train, momentum=0.9,
                           epsilon=1e-5, dtype=dtype)
  return conv, norm


class ResNet(nn.Module):
  """CIFAR ResNet: 3x3 stem, four stages (64, 128, 256, 512 channels x width)."""
  stage_sizes: Sequence[int]
  block: Any
  num_classes: int = 10
  width: float = 1.0
  dtype: Any = None

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False):
    conv, norm = _conv_and_norm(self.dtype, train)
    x = images.astype(self.dtype or jnp.float32)
    x = nn.relu(norm()(conv(_channels(64, self.width), (3, 3))(x)))
    for stage, num_blocks in enumerate(self.stage_sizes):
      for i in range(num_blocks):
        x = self.block(_channels(64 * 2 ** stage, self.width),
                       strides=2 if stage > 0 and i == 0 else 1, conv=conv, norm=norm)(x)
    return _pool_and_classify(x, self.num_classes, self.dtype)


def _pool_and_classify(x, num_classes, dtype):
  """Global average pool -> (logits, features), both float32."""
  features = jnp.mean(x, axis=(1, 2))
  logits = nn.Dense(num_classes, dtype=dtype)(features)
  return logits.astype(jnp.float32), features.astype(jnp.float32)


class InvertedResidual(nn.Module):
  """MobileNetV2 block: 1x1 expand, 3x3 depthwise, 1x1 linear projection."""
  channels: int
  strides: int
  expansion: int
  conv: Any
  norm: Any

  @nn.compact
  def __call__(self, x):
    hidden = x.shape[-1] * self.expansion
    y = x
    if self.expansion != 1:
      y = nn.relu6(self.norm()(self.conv(hidden, (1, 1))(y)))
    y = nn.relu6(self.norm()(self.conv(hidden, (3, 3), self.strides,
                                       feature_group_count=hidden)(y)))
    y = self.norm()(self.conv(self.channels, (1, 1))(y))
    return x + y if self.strides == 1 and x.shape == y.shape else y


# (expansion t, channels c, repeats n, stride s) of MobileNetV2, with the
# CIFAR changes used by the public CIFAR implementations: stride 1 in the
# stem and in the second row, so 32x32 inputs end at 4x4.
MOBILENET_V2_CIFAR = ((1, 16, 1, 1), (6, 24, 2, 1), (6, 32, 3, 2), (6, 64, 4, 2),
                      (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1))


class MobileNetV2(nn.Module):
  num_classes: int = 10
  width: float = 1.0
  dtype: Any = None

  @nn.compact
  def __call__(self, images: jax.Array, train: bool = False):
    conv, norm = _conv_and_norm(self.dtype, train)
    x = images.astype(self.dtype or jnp.float32)
    x = nn.relu6(norm()(conv(_channels(32, self.width), (3, 3))(x)))
    for expansion, channels, repeats, strides in MOBILENET_V2_CIFAR:
      for i in range(repeats):
        x = InvertedResidual(_channels(channels, self.width), strides if i == 0 else 1,
                             expansion, conv=conv, norm=norm)(x)
    x = nn.relu6(norm()(conv(_channels(1280, self.width), (1, 1))(x)))
    return _pool_and_classify(x, self.num_classes, self.dtype)


BASELINES = {
    "digits_cnn": DigitsCNN,
    "resnet18": functools.partial(ResNet, stage_sizes=(2, 2, 2, 2), block=BasicBlock),
    "resnet50": functools.partial(ResNet, stage_sizes=(3, 4, 6, 3), block=Bottleneck),
    "mobilenet_v2": MobileNetV2,
    "spec_cnn": SpectrogramCNN,
    "mlp": FeatureMLP,
}


def make_baseline(arch: str, num_classes: int, dtype=None, width: float = 1.0) -> nn.Module:
  if arch not in BASELINES:
    raise ValueError(f"baseline.arch: unknown architecture {arch!r}; choose one of {sorted(BASELINES)}")
  return BASELINES[arch](num_classes=num_classes, dtype=dtype, width=width)


def feature_dim(arch: str, width: float = 1.0) -> int:
  """The penultimate width of a baseline, without building it."""
  return {"digits_cnn": 4 * _channels(32, width), "mlp": _channels(256, width),
          "resnet18": _channels(512, width),
          "resnet50": 4 * _channels(512, width), "mobilenet_v2": _channels(1280, width),
          "spec_cnn": _channels(128, width)}[arch]
