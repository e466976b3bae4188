"""DRSL on the shipped UCI Multiple Features: two views as "image" and "text".

    python launch/train.py --config=configs/drsl_mfeat.py --workdir=/tmp/xmjax/drsl_mfeat

Default views: pix (240-d pixel averages) as images, fou (76-d Fourier
coefficients) as texts; choose others with --config.data.modalities=kar,zer.
Seeded stratified split 70/10/20 (split_seed 0), views standardised with
training statistics. Image FNN in-1024-300, text FNN in-1024-300, relation
network 600-1024-1, concat fusion, Adam 1e-4, batch 100, 40 epochs; the
network of best validation mAP (checked once per epoch) is evaluated.
Writes drsl/map_pix2fou, drsl/map_fou2pix, drsl/map_mean (and map50_),
drsl/selected_epoch, and the baselines of the same split: CCA (cca/) and a
supervised linear model (linear/). Expected (seed 0, about 25 s on 2 CPU
cores): drsl/map_mean 0.821, linear/map_mean 0.825, cca/map_mean 0.577;
five seeds in docs/retrieval.md.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("drsl_retrieval")
  config.name = "drsl_mfeat"
  config.data.format = "mfeat"
  config.data.modalities = "pix,fou"
  config.data.valid_fraction = 0.1
  config.data.test_fraction = 0.2
  config.model.image_layers = (1024, 300)
  config.model.text_layers = (1024, 300)
  config.train.num_epochs = 40
  config.train.optimizer.learning_rate = 1e-4
  return config
