"""CIFAR ResNet18 training step in eager PyTorch (same network as xmjax's)."""

from __future__ import annotations

import torch
from torch import nn
import torch.nn.functional as F


class Block(nn.Module):
  def __init__(self, cin, cout, stride):
    super().__init__()
    self.c1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
    self.b1 = nn.BatchNorm2d(cout)
    self.c2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
    self.b2 = nn.BatchNorm2d(cout)
    self.short = None
    if stride != 1 or cin != cout:
      self.short = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

  def forward(self, x):
    y = F.relu(self.b1(self.c1(x)))
    y = self.b2(self.c2(y))
    return F.relu(y + (x if self.short is None else self.short(x)))


class ResNet18(nn.Module):
  def __init__(self, num_classes=10, width=1.0):
    super().__init__()
    ch = [max(1, round(c * width)) for c in (64, 128, 256, 512)]
    self.stem = nn.Sequential(nn.Conv2d(3, ch[0], 3, 1, 1, bias=False), nn.BatchNorm2d(ch[0]), nn.ReLU())
    layers, cin = [], ch[0]
    for i, c in enumerate(ch):
      for j in range(2):
        layers.append(Block(cin, c, 2 if i > 0 and j == 0 else 1))
        cin = c
    self.layers = nn.Sequential(*layers)
    self.fc = nn.Linear(cin, num_classes)

  def forward(self, x):
    return self.fc(self.layers(self.stem(x)).mean((2, 3)))


def make_train_step(batch: int, width: float = 1.0, seed: int = 0, device: str = "cpu",
                    bfloat16: bool = False, compile: bool = False):
  """step() -> loss. On a GPU it runs as a PyTorch user tunes it: channels-last
  memory format, cuDNN autotuning, fused SGD, and with `bfloat16` autocast
  (float32 weights), the counterpart of xmjax's bfloat16 compute dtype.
  `compile`: the model through torch.compile (inductor; the backward through
  AOTAutograd, compiled on the first call), channels-last on any device."""
  torch.manual_seed(seed)
  cuda = str(device).startswith("cuda")
  if cuda:
    torch.backends.cudnn.benchmark = True
  fmt = torch.channels_last if cuda or compile else torch.contiguous_format
  model = ResNet18(width=width).to(device, memory_format=fmt)
  opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9, weight_decay=5e-4,
                        **({"fused": True} if cuda else {}))
  images = torch.randn(batch, 3, 32, 32).to(device, memory_format=fmt)
  labels = torch.randint(0, 10, (batch,)).to(device)

  forward = torch.compile(model) if compile else model

  def step():
    opt.zero_grad(set_to_none=True)
    with torch.autocast(device_type="cuda" if cuda else "cpu", dtype=torch.bfloat16,
                        enabled=bfloat16):
      loss = F.cross_entropy(forward(images), labels)
    loss.backward()
    opt.step()
    return loss

  return step
