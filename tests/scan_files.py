"""Writes small directories in the SCAN precomp layout for tests."""

import json
import os

import numpy as np

from xmjax.data.scenes import make_scenes


def write_scan_dir(directory, splits=("train", "test"), pairs=(12, 4), regions=36, dim=32,
                   seed=0, boxes=True, **overrides):
  """Scenes rendered into SCAN files: `{split}_ims.npy` (n, regions, dim),
  `{split}_caps.txt`, `{split}_ims_bbx.npy` in pixels, `{split}_ims_size.npy`,
  and `vocab.json`. `overrides` replace arrays/lines per split, e.g.
  `test_caps=[...]`."""
  os.makedirs(directory, exist_ok=True)
  words = set()
  for split, num_pairs in zip(splits, pairs):
    images, caps, _, _ = make_scenes(num_pairs, feature_dim=dim, max_objects=4,
                                     seed=seed + len(split))
    n = len(images)
    feats = np.zeros((n, regions, dim), np.float32)
    feats[:, :images.regions.shape[1]] = images.regions
    size = np.tile(np.array([[640.0, 480.0]], np.float32), (n, 1))
    bbx = np.zeros((n, regions, 4), np.float32)
    bbx[:, :images.boxes.shape[1]] = images.boxes * np.array([640, 480, 640, 480], np.float32)
    lines = [" ".join(c) for c in caps]
    words.update(w for c in caps for w in c)
    arrays = {"ims": feats, "ims_bbx": bbx, "ims_size": size}
    for key in arrays:
      arrays[key] = overrides.get(f"{split}_{key}", arrays[key])
    lines = overrides.get(f"{split}_caps", lines)
    np.save(os.path.join(directory, f"{split}_ims.npy"), arrays["ims"])
    if boxes:
      np.save(os.path.join(directory, f"{split}_ims_bbx.npy"), arrays["ims_bbx"])
      np.save(os.path.join(directory, f"{split}_ims_size.npy"), arrays["ims_size"])
    with open(os.path.join(directory, f"{split}_caps.txt"), "w") as f:
      f.write("\n".join(lines) + "\n")
  vocab = ["<pad>", "<start>", "<end>", "<unk>"] + sorted(words - set(overrides.get("drop_words", ())))
  with open(os.path.join(directory, "f30k_precomp_vocab.json"), "w") as f:
    json.dump({"word2idx": {w: i for i, w in enumerate(vocab)},
               "idx2word": {str(i): w for i, w in enumerate(vocab)}}, f)
  return str(directory)
