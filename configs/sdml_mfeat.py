"""SDML on the shipped UCI Multiple Features: all six views as modalities.

    python launch/train.py --config=configs/sdml_mfeat.py --workdir=/tmp/xmjax/sdml_mfeat

Views fou, fac, kar, pix, zer, mor (2000 digits), seeded stratified split
70/10/20 (split_seed 0), standardised with training statistics. One DSAE per
view (in-1024-1024-512-1024-1024-in), P a fixed random column-orthogonal
512 x 10 matrix, loss 0.5 ||x_hat - x|| + 0.5 ||P^T h - y||, Adam (0.5, 0.999)
at 2e-4, batch 100; each view keeps its parameters of lowest validation loss.
Writes sdml/map_<q>2<t> for all 30 ordered pairs, sdml/map_mean, map50_, and
the CCA baseline (cca/) on the same split.

Adding a modality later (trains only it, against the saved P):

    python launch/train.py --config=configs/sdml_mfeat.py --workdir=/tmp/xmjax/sdml5 \
        --config.data.modalities=fou,fac,kar,pix,zer
    python launch/train.py --config=configs/sdml_mfeat.py --workdir=/tmp/xmjax/sdml5 \
        --config.data.modalities=fou,fac,kar,pix,zer --config.add_modality=mor
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.sdml_retrieval()
  config.name = "sdml_mfeat"
  config.data.format = "mfeat"
  config.data.modalities = "fou,fac,kar,pix,zer,mor"
  config.data.valid_fraction = 0.1
  config.data.test_fraction = 0.2
  config.train.num_epochs = 30
  config.train.learning_rate = 2e-4
  config.train.learning_rate_overrides = ""
  return config
