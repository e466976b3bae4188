"""VSE on the shipped UCI Multiple Features: pix as images, fou as texts.

    python launch/train.py --config=configs/vse_mfeat.py --workdir=/tmp/xmjax/vse_mfeat

The example of docs/adding_a_model.md. Split and standardisation as
configs/drsl_mfeat.py; encoders in-1024-256, Adam 2e-4, batch 100, 40
epochs, margin 0.2 (not tuned). Expected (seed 0, 8 s on 2 CPU cores):
vse/map_mean 0.702, linear/map_mean 0.825, cca/map_mean 0.577.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("vse_retrieval")
  config.name = "vse_mfeat"
  return config
