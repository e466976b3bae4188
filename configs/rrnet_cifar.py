"""RR-Net on CIFAR-10 over a Flax CNN baseline (paper table II): the headline run.

    python launch/train.py --config=configs/rrnet_cifar.py --workdir=/tmp/xmjax/rrnet_cifar

Data: TFDS `cifar10` prepared in ArrayRecord format (`tfds build cifar10
--file_format=array_record` once, on a machine with internet) under
`--config.data.data_dir` (default: TFDS's ~/tensorflow_datasets). Read with
`tfds.data_source`; no TensorFlow needed. The 50,000 training images train
the baseline and form RR-Net's training graph; the 10,000 test images form
the test graph (built from test images only).

Stage (a): `baseline.arch` (resnet18 here; resnet50 or mobilenet_v2) with
random crop (pad 4) and flips on device, SGD 0.01, momentum 0.9, weight decay
5e-4, cosine schedule, data parallel over all local devices. Stage (b):
RR-Net with the paper's graph: k1 = 10, k2 = 2, K = 10, hidden 16, 5 units
(2 intra + 3 inter), label nodes carrying MiniLM embeddings of the class
names (or your own vectors: label_features="file", label_embeddings=PATH).

Smoke run on generated examples of CIFAR's shapes (CPU, about a minute):

    python launch/train.py --config=configs/rrnet_cifar.py --workdir=/tmp/xmjax/cifar_smoke \
      --config.data.fake_examples=256 --config.baseline.width=0.125 \
      --config.baseline.num_epochs=1 --config.baseline.batch_size=32 --config.rrnet.num_steps=20
"""

from xmjax.configs import schemas


def get_config(dataset: str = "cifar10"):
  config = schemas.schema("rrnet_classification")
  config.name = f"rrnet_{dataset}"
  config.seed = 0
  config.log_every = 100
  config.data.name = dataset
  config.data.data_dir = ""
  config.data.fake_examples = 0
  config.data.split_seed = 0
  config.baseline.arch = "resnet18"
  config.baseline.width = 1.0
  config.baseline.num_epochs = 100
  config.baseline.batch_size = 128
  config.baseline.eval_batch_size = 500
  config.baseline.checkpoint_every = 2000
  config.baseline.crop_padding = 4
  config.baseline.flip = True
  config.baseline.optimizer.name = "sgd"
  config.baseline.optimizer.learning_rate = 0.01
  config.baseline.optimizer.momentum = 0.9
  config.baseline.optimizer.weight_decay = 5e-4
  config.baseline.optimizer.schedule = "cosine"
  small = dataset == "cifar10"
  config.rrnet.k1 = 10 if small else 20
  config.rrnet.k2 = 2 if small else 3
  config.rrnet.num_candidates = 10 if small else 15
  config.rrnet.units = "intra,inter,intra,inter,inter"
  config.rrnet.latent = 16
  config.rrnet.hidden = 16
  config.rrnet.label_features = "text"
  config.rrnet.pad_multiple = 1024
  config.rrnet.num_steps = 500
  config.rrnet.checkpoint_every = 100
  # Adam (paper: SGD 0.01): on the digits, SGD needed far more full-graph
  # steps than Adam to leave the chance-level plateau (docs/deviations.md).
  config.rrnet.optimizer.name = "adam"
  config.rrnet.optimizer.learning_rate = 1e-3
  return config
