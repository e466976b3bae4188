"""RACG on Flickr30k with the dense text graph: the second model of the
paper's "*" rows (table I), which average a sparse and a dense model.

    python launch/train.py --config=configs/racg_flickr30k.py --workdir=/tmp/xmjax/racg_sparse \
      --config.data.dir=/data/f30k_precomp
    python launch/train.py --config=configs/racg_flickr30k_dense.py --workdir=/tmp/xmjax/racg_dense \
      --config.data.dir=/data/f30k_precomp
    python launch/eval.py --workdir=/tmp/xmjax/racg_sparse --ensemble_with=/tmp/xmjax/racg_dense

`racg_flickr30k` field for field, but every pair of words in a caption is
connected in the textual graph (eq. 7-8) instead of the dependency parse
(a chain without a parser): GSMN's dense graph, whose ensemble with the
sparse one the RACG tables mark "*". The ensemble averages the two test
similarity matrices and writes `racg_ensemble/` R@K (and re-ranked, and
MS-COCO 1K with `racg_coco`) to `ensemble_results.json`.
"""

from xmjax.configs import sibling_config

racg_flickr30k = sibling_config(__file__, "racg_flickr30k")


def get_config(dataset: str = "flickr30k"):
  config = racg_flickr30k.get_config(dataset)
  config.name = f"racg_{dataset}_dense"
  config.model.text_graph = "dense"
  return config
