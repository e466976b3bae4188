"""SDML on the Wikipedia cross-modal set with its classic shallow features.

    xmjax train --config=sdml_wikipedia_shallow --workdir=/tmp/xmjax/sdml_wiki_shallow \
        --config.data.dir=../shared/data/real/wikipedia

The data of configs/drsl_wikipedia_shallow.py (128-d SIFT bag-of-words
images, 10-d LDA topic texts, official 2,173 / 693 split, a seeded
stratified 10% of training as validation, standardised). One DSAE per
modality, in-512-512-128-512-512-in (the paper's 1024-1024-512 shapes are
for 4096-d inputs), P a fixed column-orthogonal 128 x 10 matrix, the
paper's loss and selection (lowest validation ||P^T h - y|| per network),
Adam (0.5, 0.999) 2e-4, batch 100, 50 epochs. Not tuned beyond that one
choice (not swept; docs/retrieval.md). CCA and the linear model of
the same split in the same run.
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("sdml_retrieval")
  config.name = "sdml_wikipedia_shallow"
  config.data.format = "wikipedia_mat"
  config.data.modalities = "image,text"
  config.data.valid_fraction = 0.1
  config.data.standardize = True
  config.model.hidden = (512, 512)
  config.model.code_dim = 128
  config.train.num_epochs = 50
  config.train.learning_rate = 2e-4
  config.train.learning_rate_overrides = ""
  return config
