"""DRSL on Wikipedia (SDML-style HDF5 features: VGG-19 fc7 4096-d, Doc2Vec 300-d).

    python launch/train.py --config=configs/drsl_wikipedia.py --workdir=/tmp/xmjax/drsl_wiki \
        --config.data.dir=/path/to/dir/with/h5py

Expects DIR/wiki_deep_doc2vec_data_corr_ae.h5py (datasets train_imgs_deep,
train_imgs_labels, train_text, train_texts_labels, test_*); the first 231
test rows are the validation split. Image FNN 4096-1024-300, text FNN
300-1024-300, relation network 600-1024-1, concat fusion, Adam 1e-4.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("drsl_retrieval")
  config.name = "drsl_wikipedia"
  config.data.format = "sdml_h5"
  config.data.file = "wiki_deep_doc2vec_data_corr_ae.h5py"
  config.data.valid_len = 231
  config.data.modalities = "image,text"
  config.model.image_layers = (1024, 300)
  config.model.text_layers = (1024, 300)
  return config
