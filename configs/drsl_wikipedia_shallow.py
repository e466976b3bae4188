"""DRSL on the Wikipedia cross-modal set with its classic shallow features.

    xmjax train --config=drsl_wikipedia_shallow --workdir=/tmp/xmjax/drsl_wiki_shallow \
        --config.data.dir=../shared/data/real/wikipedia

Rasiwasia et al.'s 2,866 image-text pairs (10 categories, the official
2,173 / 693 split): 128-d SIFT bag-of-words images, 10-d LDA topic texts
(`raw_features.mat` with `trainset_txt_img_cat.list` /
`testset_txt_img_cat.list`), standardised with training statistics; a
seeded stratified 10% of the training pairs is the validation split
(data.split_seed). Not the 4096-d VGG / 300-d Doc2Vec features of the DRSL
paper's Wikipedia table (configs/drsl_wikipedia.py). Widths for these
inputs were chosen on the validation split of seed 0 (validation mAP, mean
of both directions): FNNs in-256-64 / relation 256: 0.222; in-512-128 /
512: 0.260 (shipped); in-1024-300 / 1024 (the paper's shapes): 0.250;
in-256-64 at Adam 1e-3: 0.227. 50 epochs, Adam 1e-4, batch 100. In the same run: the same encoders and loss
scored by cosine instead of the relation network (`drsl_cosine/`), CCA
(`cca/`) and the supervised linear model (`linear/`).
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("drsl_retrieval")
  config.name = "drsl_wikipedia_shallow"
  config.data.format = "wikipedia_mat"
  config.data.modalities = "image,text"
  config.data.valid_fraction = 0.1
  config.model.image_layers = (512, 128)
  config.model.text_layers = (512, 128)
  config.model.relation_hidden = 512
  config.train.num_epochs = 50
  config.train.ablation_cosine = True
  config.train.optimizer.learning_rate = 1e-4
  return config
