"""DRSL on the shipped UCI Multiple Features: two views as "image" and "text".

    python launch/train.py --config=configs/drsl_mfeat.py --workdir=/tmp/xmjax/drsl_mfeat

Default views: pix (240-d pixel averages) as images, fou (76-d Fourier
coefficients) as texts; choose others with --config.data.modalities=kar,zer.
Seeded stratified split 70/10/20 (split_seed 0), views standardised with
training statistics. Image FNN in-1024-300, text FNN in-1024-300, relation
network 600-1024-1, concat fusion, Adam 1e-4, batch 100. Writes
drsl/map_pix2fou, drsl/map_fou2pix, drsl/map_mean (and map50_), and the CCA
baseline of the same split under cca/.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.drsl_retrieval()
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
