"""RR-Net rating prediction on Ciao (paper tables III-IV).

    python launch/train.py --config=configs/rrnet_ciao.py --workdir=/tmp/xmjax/rrnet_ciao \
      --config.data.dir=/data/ciao

Expects `rating.mat` (variable `rating`: user, product, category, rating,
helpfulness; ratings 1..5) and `trustnetwork.mat` (variable `trustnetwork`,
(E, 2)) in `data.dir`; ids above 99999 are dropped as in the paper. Inter
edges along the rated pairs only (the paper); otherwise
configs/rrnet_filmtrust.py's settings and departures from the paper (rating
node attributes with half of the training ratings held out as each step's
targets, predictions averaged over 16 attribute draws made the same way,
width 32, Adam 1e-3 for 1000 steps; mean of 5 random 80/20 splits). Those
were measured on FilmTrust-layout data only (docs/rrnet.md, "RR-Net on ratings").
The rating attributes are sparse (`rrnet.attribute_layout="sparse"`, one
entry per rating): on a generated set of the public release's size (7,400
users, 99,000 items, 281,200 ratings) a step takes 1.2 s and the run peaks
at 2.4 GB on 2 CPU cores, where dense users x items matrices (2.9 GB each)
take 7.1 s and 14.3 GB (benchmarks/RESULTS.md).
"""

from xmjax.configs import sibling_config

rrnet_filmtrust = sibling_config(__file__, "rrnet_filmtrust")


def get_config():
  config = rrnet_filmtrust.get_config()
  config.name = "rrnet_ciao"
  config.data.name = "ciao"
  config.rrnet.inter = "rated"
  return config
