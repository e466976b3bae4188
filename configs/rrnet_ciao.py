"""RR-Net rating prediction on Ciao (paper tables III-IV).

    python launch/train.py --config=configs/rrnet_ciao.py --workdir=/tmp/xmjax/rrnet_ciao \
      --config.data.dir=/data/ciao

Expects `rating.mat` (variable `rating`: user, product, category, rating,
helpfulness; ratings 1..5) and `trustnetwork.mat` (variable `trustnetwork`,
(E, 2)) in `data.dir`; ids above 99999 are dropped as in the paper. Inter
edges along the rated pairs only; otherwise the FilmTrust settings (5 units,
hidden 16, SGD 0.01, momentum 0.9, weight decay 5e-4, 500 steps, mean of 5
random 80/20 splits).
"""

from xmjax.train.experiments import rrnet_ratings


def get_config():
  config = rrnet_ratings.default_config()
  config.name = "rrnet_ciao"
  config.seed = 0
  config.data.name = "ciao"
  config.data.dir = ""
  config.data.test_fraction = 0.2
  config.data.num_splits = 5
  r = config.rrnet
  r.inter = "rated"
  r.node_dim = 128
  r.units = "intra,inter,intra,inter,inter"
  r.latent = 16
  r.hidden = 16
  r.num_steps = 500
  r.optimizer.name = "sgd"
  r.optimizer.learning_rate = 0.01
  r.optimizer.momentum = 0.9
  r.optimizer.weight_decay = 5e-4
  return config
