"""RACG on MS-COCO with the dense text graph (the second model of table II's
"*" rows); see configs/racg_flickr30k_dense.py for the three commands.

    python launch/train.py --config=configs/racg_coco_dense.py --workdir=/tmp/xmjax/racg_coco_dense \
      --config.data.dir=/data/coco_precomp
"""

from xmjax.configs import sibling_config

racg_flickr30k_dense = sibling_config(__file__, "racg_flickr30k_dense")


def get_config():
  return racg_flickr30k_dense.get_config("coco")
