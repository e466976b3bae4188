"""SDML on the shipped UCI Multiple Features: all six views as modalities.

    python launch/train.py --config=configs/sdml_mfeat.py --workdir=/tmp/xmjax/sdml_mfeat

Views fou, fac, kar, pix, zer, mor (2000 digits), seeded stratified split
70/10/20 (split_seed 0), standardised with training statistics (the views'
scales differ by orders of magnitude; the paper configs feed their feature
files raw, as the authors do). One DSAE per view (in-1024-1024-512-1024-1024-in,
both ends L2-normalised, PyTorch's default init), P a fixed random
column-orthogonal 512 x 10 matrix, loss 0.5 mean ||x_hat - x|| + 0.5 mean
||P^T h - y||, Adam (0.5, 0.999) at 2e-4, batch 100, 30 of each view's own
epochs; each view keeps its parameters of lowest validation ||P^T h - y||.
Writes sdml/map_<q>2<t> for all 30 ordered pairs, sdml/map_mean, map50_, and
the baselines on the same split: CCA (cca/) and a supervised linear model
(linear/). Expected (seed 0, a few minutes on 2 CPU cores): sdml/map_mean
about 0.84, above linear/map_mean and cca/map_mean; five seeds in docs/retrieval.md.

Adding a modality later (trains only it, against the saved P):

    python launch/train.py --config=configs/sdml_mfeat.py --workdir=/tmp/xmjax/sdml5 \
        --config.data.modalities=fou,fac,kar,pix,zer
    python launch/train.py --config=configs/sdml_mfeat.py --workdir=/tmp/xmjax/sdml5 \
        --config.data.modalities=fou,fac,kar,pix,zer --config.add_modality=mor
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("sdml_retrieval")
  config.name = "sdml_mfeat"
  config.data.format = "mfeat"
  config.data.modalities = "fou,fac,kar,pix,zer,mor"
  config.data.valid_fraction = 0.1
  config.data.test_fraction = 0.2
  config.data.standardize = True
  config.train.num_epochs = 30
  config.train.learning_rate = 2e-4
  config.train.learning_rate_overrides = ""
  return config
