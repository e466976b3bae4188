"""RR-Net on ESC-50 sound features, leave-one-fold-out (paper table I).

    python launch/train.py --config=configs/rrnet_esc50.py --workdir=/tmp/xmjax/rrnet_esc50 \
      --config.data.dir=/data/esc50.npz

As configs/rrnet_esc10.py with 50 classes (labels = esc50.csv's `target`)
and the paper's ESC-50 graph: k1 = 10, k2 = 2, K = 20 (paper optimizer: SGD
lr 0.1; here Adam 1e-3 as for ESC-10).
"""

from xmjax.configs import sibling_config

rrnet_esc10 = sibling_config(__file__, "rrnet_esc10")


def get_config():
  return rrnet_esc10.get_config("esc50")
