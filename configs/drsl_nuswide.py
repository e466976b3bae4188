"""DRSL on NUS-WIDE (SDML-style HDF5 features, image 4096-d, text 300-d).

    python launch/train.py --config=configs/drsl_nuswide.py --workdir=/tmp/xmjax/drsl_nus \
        --config.data.dir=/path/to/dir

Expects DIR/nus_wide_deep_doc2vec_data_42941.h5py; the first 5000 test rows
validate. For NUS-WIDE-10K in the same layout pass its file with
--config.data.file=... --config.data.valid_len=1000. Image FNN 4096-1024-300,
text FNN 300-1024-300, relation 600-1024-1, Adam 1e-4.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("drsl_retrieval")
  config.name = "drsl_nuswide"
  config.data.format = "sdml_h5"
  config.data.file = "nus_wide_deep_doc2vec_data_42941.h5py"
  config.data.valid_len = 5000
  config.data.modalities = "image,text"
  config.model.image_layers = (1024, 300)
  config.model.text_layers = (1024, 300)
  return config
