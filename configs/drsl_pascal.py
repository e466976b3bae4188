"""DRSL on Pascal Sentences (DSCMR-style .mat files: image 4096-d, text 300-d).

    python launch/train.py --config=configs/drsl_pascal.py --workdir=/tmp/xmjax/drsl_pascal \
        --config.data.dir=/path/to/pascal

Expects DIR/{train,test}_{img,txt}.mat and {train,test}_img_lab.mat (one
variable per file, named like the file); 800 train / 100 test, validation a
stratified 10% of training. Image FNN 4096-300, text FNN 300-300, relation
600-1024-1, Adam 1e-4.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("drsl_retrieval")
  config.name = "drsl_pascal"
  config.data.format = "pascal_mat"
  config.data.valid_fraction = 0.1
  config.data.modalities = "image,text"
  config.model.image_layers = (300,)
  config.model.text_layers = (300,)
  return config
