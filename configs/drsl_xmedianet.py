"""DRSL on XMediaNet (SDML-style HDF5 features, image 4096-d, text 300-d).

    python launch/train.py --config=configs/drsl_xmedianet.py --workdir=/tmp/xmjax/drsl_xmn \
        --config.data.dir=/path/to/dir

Expects DIR/xmedianet_deep_doc2vec_data.h5py; the first 4000 test rows
validate. Image FNN 4096-1024-1024-300 and text FNN 300-1024-1024-300 with
batch norm, relation 600-1024-1, Adam 1e-4.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("drsl_retrieval")
  config.name = "drsl_xmedianet"
  config.data.format = "sdml_h5"
  config.data.file = "xmedianet_deep_doc2vec_data.h5py"
  config.data.valid_len = 4000
  config.data.modalities = "image,text"
  config.model.image_layers = (1024, 1024, 300)
  config.model.text_layers = (1024, 1024, 300)
  config.model.batch_norm = True
  return config
