"""RR-Net rating prediction on a generated social network: the embedded demo.

    python launch/train.py --config=configs/rrnet_ratings_demo.py --workdir=/tmp/xmjax/ratings_demo

100 users in four taste groups who trust users of their own group, 100
items, 30 ratings per user on FilmTrust's 0.5..4.0 grid
(`xmjax.data.synthetic.make_social_ratings`). Model, optimiser and protocol
are configs/rrnet_filmtrust.py's (inter edges to all items, 5 units, rating
attributes with half of the training ratings held out as each step's
targets and predictions averaged over 16 draws made the same way, width
32, Adam; mean of 5 random 80/20 splits); results.json also has the
training-mean baseline `mean/test_rmse` and biased matrix factorisation
`mf/test_rmse`.

Expected (2 CPU cores, about 3 minutes): RMSE RR-Net 0.450 ± 0.023, MF
0.467 ± 0.017, training mean 0.806 (mean ± std of the 5 splits; RR-Net
below MF on 4 of them). One data seed: see docs/rrnet.md, "RR-Net on
ratings", for how RR-Net and MF compare over seven.
"""

from xmjax.configs import sibling_config

rrnet_filmtrust = sibling_config(__file__, "rrnet_filmtrust")


def get_config():
  config = rrnet_filmtrust.get_config()
  config.name = "rrnet_ratings_demo"
  config.data.name = "synthetic"
  config.data.dir = ""
  config.data.synthetic.num_users = 100
  config.data.synthetic.num_items = 100
  config.data.synthetic.ratings_per_user = 30
  return config
