"""SDML on the Wikipedia cross-modal set with its classic shallow features.

    xmjax train --config=sdml_wikipedia_shallow --workdir=/tmp/xmjax/sdml_wiki_shallow \
        --config.data.dir=../shared/data/real/wikipedia

The data of configs/drsl_wikipedia_shallow.py (128-d SIFT bag-of-words
images, 10-d LDA topic texts, official 2,173 / 693 split, a seeded
stratified 10% of training as validation, standardised). One DSAE per
modality, in-1024-1024-512-1024-1024-in, P a fixed column-orthogonal
512 x 10 matrix, the paper's loss and selection (lowest validation
||P^T h - y|| per network), Adam (0.5, 0.999) 2e-4 for both networks,
batch 100, 50 epochs. CCA and the linear model of the same split in the
same run. About 40 s on 2 CPU cores; expected (seed 0) sdml/map_mean
0.269, linear 0.249, CCA 0.231.

Widths and rates were chosen on the validation split (validation mAP, mean
of both directions, mean over model seeds 0-2; every row 2e-4 unless
named): hidden 256-256 with code 64 / 128 / 256: 0.227 / 0.233 / 0.254;
512-512: 0.245 / 0.244 / 0.263, code 512: 0.270; 1024-1024: 0.246 /
0.260 / 0.266, code 512: 0.279 (shipped; the SDML paper's own shapes),
code 1024: 0.273. Per-network rates at code 256 (text 1e-3; image 5e-5;
both) moved it by at most 0.006 (512-512: 0.262-0.265, 1024-1024:
0.266-0.271), and image 5e-5 at 1024-1024 code 512: 0.278. The image
network's validation loss bottoms out within its first 4-5 epochs at
2e-4 (16-18 at 5e-5); the text network's near the last.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("sdml_retrieval")
  config.name = "sdml_wikipedia_shallow"
  config.data.format = "wikipedia_mat"
  config.data.modalities = "image,text"
  config.data.valid_fraction = 0.1
  config.data.standardize = True
  config.model.hidden = (1024, 1024)
  config.model.code_dim = 512
  config.train.num_epochs = 50
  config.train.learning_rate = 2e-4
  config.train.learning_rate_overrides = ""
  return config
