"""RACG on Flickr30k in the SCAN precomp layout (the RACG paper, table I).

    python launch/train.py --config=configs/racg_flickr30k.py --workdir=/tmp/xmjax/racg_f30k \
      --config.data.dir=/data/f30k_precomp

Expects `{train,test}_ims.npy` (n, 36, 2048), `{train,test}_caps.txt` (5
captions per image), optional `*_ims_bbx.npy` / `*_ims_size.npy` for region
positions, and a vocabulary JSON with `word2idx` (`*vocab*.json` in the
directory, or `--config.data.vocab`). Paper sizes: batch 80, 36 regions of
2048-d, position 128-d, word 300-d, POS 15-d, joint 1024-d, 64 heads, Adam
2e-4 for 25 epochs, decayed by 0.1 every 10 epochs (Flickr30k: at epochs 10
and 20) or every 15 (MS-COCO: at epoch 15), the paper's schedule read as
SCAN's `lr * 0.1 ** (epoch // lr_update)`. `--config.data.parser=spacy` parses POS tags and
dependencies (needs `pip install spacy` and its `en_core_web_sm` model);
the default falls back to chain text graphs (results.json says which).
"""

from xmjax.configs import schemas


def get_config(dataset: str = "flickr30k"):
  config = schemas.schema("racg_retrieval")
  config.name = f"racg_{dataset}"
  config.seed = 0
  config.log_every = 100
  config.data.name = "scan"
  config.data.dir = ""
  config.data.train_split = "train"
  config.data.eval_split = "test" if dataset == "flickr30k" else "testall"
  config.data.coco_folds = dataset == "coco"
  config.data.parser = "none"
  m = config.model
  m.joint_dim = 1024
  m.position_dim = 128
  m.word_dim = 300
  m.pos_dim = 15
  m.num_heads = 64
  m.temperature = 4.0
  t = config.train
  t.batch_size = 80
  t.num_epochs = 25
  t.checkpoint_every = 1000
  t.optimizer.name = "adam"
  t.optimizer.learning_rate = 2e-4
  t.optimizer.schedule = "step"
  # Fractions of the 25 epochs: every 10 epochs (Flickr30k), every 15 (COCO).
  t.optimizer.decay_at = (10 / 25, 20 / 25) if dataset == "flickr30k" else (15 / 25,)
  t.optimizer.decay_factor = 0.1
  config.eval.rerank = True
  config.eval.rerank_k1 = 15
  return config
