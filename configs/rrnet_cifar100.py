"""RR-Net on CIFAR-100 over a Flax CNN baseline (paper table II).

    python launch/train.py --config=configs/rrnet_cifar100.py --workdir=/tmp/xmjax/rrnet_cifar100

As configs/rrnet_cifar.py (same as `--config=configs/rrnet_cifar.py:cifar100`),
on TFDS `cifar100` (fine labels), with the paper's CIFAR-100 graph: k1 = 20,
k2 = 3, K = 15.
"""

from xmjax.configs import sibling_config

rrnet_cifar = sibling_config(__file__, "rrnet_cifar")


def get_config():
  return rrnet_cifar.get_config("cifar100")
