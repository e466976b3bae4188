"""RR-Net rating prediction on Ciao (paper tables III-IV).

    python launch/train.py --config=configs/rrnet_ciao.py --workdir=/tmp/xmjax/rrnet_ciao \
      --config.data.dir=/data/ciao

Expects `rating.mat` (variable `rating`: user, product, category, rating,
helpfulness; ratings 1..5) and `trustnetwork.mat` (variable `trustnetwork`,
(E, 2)) in `data.dir`; ids above 99999 are dropped as in the paper. Inter
edges along the rated pairs only; otherwise configs/rrnet_filmtrust.py's
settings (5 units, hidden 16, SGD 0.01, momentum 0.9, weight decay 5e-4, 500
steps, mean of 5 random 80/20 splits).
"""

from xmjax.configs import sibling_config

rrnet_filmtrust = sibling_config(__file__, "rrnet_filmtrust")


def get_config():
  config = rrnet_filmtrust.get_config()
  config.name = "rrnet_ciao"
  config.data.name = "ciao"
  config.rrnet.inter = "rated"
  return config
