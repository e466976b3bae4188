"""RR-Net on the real CIFAR-10 images from an image folder (paper table II).

    python launch/train.py --config=configs/rrnet_cifar10_jpeg.py --workdir=/tmp/xmjax/cifar10_jpeg \
      --config.data.path=../shared/data/real/cifar10_jpeg.tar.gz
    # the paper's ResNet18 (a GPU/TPU run; hours on 2 CPU cores):
    ... --config.baseline.width=1.0 --config.baseline.num_epochs=100

Data: the 60,000 CIFAR-10 images in the image-folder layout
`{train,test}/<class>/<n>.jpg` (a directory or the .tar.gz itself, read
without unpacking; decoded once and cached, xmjax.data.image_folder), the
official split and class order. The shipped copy is a JPEG re-encoding of
the official pixels, so every accuracy here sits below one on the original
pixels. 10% of the training images (stratified) are a validation graph.

Stage (a): ResNet18 (CIFAR variant) at `baseline.width` 0.25 (16 to 128
channels, 128-wide features; width 1.0 is the paper's network) for 8
epochs with random crops (pad 4) and flips, SGD 0.05, momentum 0.9, weight
decay 5e-4, cosine: what lets a full run finish on 2 CPU cores (45-50
minutes, two thirds of it the baseline; about 2 hours on busier cores). Stage (b):
configs/rrnet_cifar.py's RR-Net (k1 = 10, k2 = 2, K = 10, hidden 16, 5
units, MiniLM label nodes, Adam 1e-3, 500 full-graph steps), then the
graph-free MLP re-ranker of the same size on the same candidates.
Measured (4 model seeds, mean ± std): baseline 0.7579 ± 0.0046,
RR-Net 0.7570 ± 0.0074, MLP re-ranker 0.7588 ± 0.0047 test top-1
(RR-Net minus baseline -0.0009, paired p = 0.62; paper, full ResNet18:
0.8704 -> 0.8963); docs/rrnet.md, "RR-Net on the papers' own data".
"""

from xmjax.configs import sibling_config

rrnet_cifar = sibling_config(__file__, "rrnet_cifar")


def get_config():
  config = rrnet_cifar.get_config("cifar10")
  config.name = "rrnet_cifar10_jpeg"
  config.data.path = ""
  config.data.valid_fraction = 0.1
  b = config.baseline
  b.arch = "resnet18"
  b.width = 0.25
  b.num_epochs = 8
  b.batch_size = 128
  b.optimizer.learning_rate = 0.05
  config.rrnet.ablations = "mlp_reranker"
  return config
