"""RACG on MS-COCO in the SCAN precomp layout (the RACG paper, table II).

    python launch/train.py --config=configs/racg_coco.py --workdir=/tmp/xmjax/racg_coco \
      --config.data.dir=/data/coco_precomp

As configs/racg_flickr30k.py, evaluated on `testall` (5000 images): the 5K
results (`racg/...`) and the mean over the five 1000-image folds
(`racg/1k_...`).
"""

from xmjax.configs import sibling_config

racg_flickr30k = sibling_config(__file__, "racg_flickr30k")


def get_config():
  return racg_flickr30k.get_config("coco")
