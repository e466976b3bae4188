"""RACG and three comparisons on the embedded relational scenes (CPU, minutes).

    python launch/train.py --config=configs/racg_scenes.py --workdir=/tmp/xmjax/racg_scenes

800 training images (400 minimal pairs), 100 test images with 500
captions (`data.scenes.kind = "relational"`, xmjax.data.scenes): each image
has a sibling that differs in one spatial relation (a reference object
moved to the mirror side of the named target) or, as the control, in the
target's and reference's colours; every caption is false for the sibling;
shapes repeat within an image. Region vectors of 64 dims with boxes;
captions with known POS tags and dependency heads. Trains, on the same
encoders, loss and batches: RACG, RACG without the cross graph
(`racg_no_cross/`), and two baselines, `vse/` (pooled cosine, no
interaction) and `scan_t2i/` (SCAN's text-to-image attention). Each writes
R@K (`<model>/rsum`, re-ranked `<model>_rerank/`) and the minimal pairs
won, in percent (chance 50): `<model>/minimal_pair_spatial`, and
`<model>/minimal_pair_colour` (the control); plus RACG's diagnostics
(`racg/cross_share_*`, `racg_cross_off/`). The model is scaled down (joint
128, 16 heads) for the small inputs and trained with Adam 1e-3, batch 40
(paper: 2e-4, batch 80); the loss and evaluation are the paper's.

Measured (2 CPU cores, seed 0, data seed 0, about 6 minutes for the four
models): minimal_pair_spatial racg 60.7, racg_no_cross 62.4, scan_t2i
71.4, vse 48.9; minimal_pair_colour 100 for all but vse (51.1); rsum 533.4,
535.8, 549.0, 382.2. Nine runs (data seeds x model seeds) with paired
tests: docs/racg.md, "The relational scenes benchmark".
"""

from xmjax.configs import schemas


def get_config():
  config = schemas.schema("racg_retrieval")
  config.name = "racg_scenes"
  config.seed = 0
  config.log_every = 25
  config.data.name = "scenes"
  config.data.scenes.kind = "relational"
  config.data.scenes.train_pairs = 400
  config.data.scenes.test_pairs = 50
  m = config.model
  m.joint_dim = 128
  m.position_dim = 32
  m.word_dim = 64
  m.pos_dim = 15
  m.num_heads = 16
  m.image_block = 16
  t = config.train
  t.batch_size = 40
  t.num_epochs = 6
  t.checkpoint_every = 100
  t.ablation_no_cross = True
  t.baselines = "vse,scan_t2i"
  t.optimizer.learning_rate = 1e-3
  return config
