"""RR-Net on CIFAR-100 over a Flax CNN baseline (paper table II).

    python launch/train.py --config=configs/rrnet_cifar100.py --workdir=/tmp/xmjax/rrnet_cifar100

As configs/rrnet_cifar.py (same as `--config=configs/rrnet_cifar.py:cifar100`),
on TFDS `cifar100` (fine labels), with the paper's CIFAR-100 graph: k1 = 20,
k2 = 3, K = 15.
"""

import importlib.util
import os

_spec = importlib.util.spec_from_file_location(
    "rrnet_cifar", os.path.join(os.path.dirname(os.path.abspath(__file__)), "rrnet_cifar.py"))
rrnet_cifar = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(rrnet_cifar)


def get_config():
  return rrnet_cifar.get_config("cifar100")
