"""SDML on Wikipedia (SDML-style HDF5 features: image 4096-d, text 300-d).

    python launch/train.py --config=configs/sdml_wikipedia.py --workdir=/tmp/xmjax/sdml_wikipedia \
        --config.data.dir=/path/to/dir

Expects DIR/wiki_deep_doc2vec_data_corr_ae.h5py; the first 231 test rows are the validation split. One DSAE
per modality (in-1024-1024-512-1024-1024-in), fixed column-orthogonal P,
Adam (0.5, 0.999), lr 1e-4 for images and 2e-4 for text, batch 100, 200 epochs.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("sdml_retrieval")
  config.name = "sdml_wikipedia"
  config.data.format = "sdml_h5"
  config.data.file = "wiki_deep_doc2vec_data_corr_ae.h5py"
  config.data.valid_len = 231
  config.data.modalities = "image,text"
  config.train.learning_rate_overrides = "image=1e-4"
  return config
