"""SDML on PKU XMedia: five modalities (image 4096, text 3000, audio 29, 3D 4700, video 4096).

    python launch/train.py --config=configs/sdml_xmedia.py --workdir=/tmp/xmjax/sdml_xmedia \
        --config.data.dir=/path/to/dir

Expects DIR/XMediaFeatures.mat (I_tr_CNN, T_tr_BOW, A_tr, d3_tr, V_tr_CNN, the
_te ones and the 1-based *Cat labels). Test = first 500 image/text, 100
audio, 50 3D, 87 video rows of each test set; the rest validates. Adam
(0.5, 0.999), lr 1e-4 for images, 2e-4 for the others, batch 100, 200 epochs.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("sdml_retrieval")
  config.name = "sdml_xmedia"
  config.data.format = "xmedia_mat"
  config.data.file = "XMediaFeatures.mat"
  config.data.modalities = "image,text,audio,3d,video"
  config.train.learning_rate_overrides = "image=1e-4"
  return config
