"""The relational scenes benchmark: minimal pairs that need relations, the
minimal-pair metric, and racg_scenes' four models end to end."""

import json
import subprocess
import sys

import numpy as np
import pytest

from conftest import ROOT, load_config, reevaluation_changes_only_results, set_fields
from xmjax import metrics
from xmjax.train import train_and_evaluate


def caption_holds(words, objects):
  """Whether 'a [size] colour shape REL a [size] colour shape' is true of
  the objects, checked symbolically (each phrase must name one object)."""
  from xmjax.data.scenes import COLOURS, SHAPES, SIZES
  at = next(k for k, w in enumerate(words) if w in ("left", "right", "above", "below"))
  rel = words[at]
  first, second = words[:at], words[at + (2 if rel in ("left", "right") else 1):]

  def find(phrase):
    found = [o for o in objects if COLOURS[o["colour"]] == phrase[-2]
             and SHAPES[o["shape"]] == phrase[-1]
             and (len(phrase) == 3 or SIZES[o["size"]] == phrase[1])]
    assert len(found) <= 1
    return found[0] if found else None

  a, b = find(first), find(second)
  if a is None or b is None:
    return False
  centre = lambda o: (o["box"][:2] + o["box"][2:]) / 2
  dx, dy = centre(a) - centre(b)
  actual = ("left" if dx < 0 else "right") if abs(dx) >= abs(dy) else ("above" if dy < 0 else "below")
  return actual == rel


def test_relational_scenes_are_minimal_pairs_that_need_relations():
  """Every caption is true of its image and false of its sibling; spatial
  siblings keep every object but one in place (the named target's absolute
  position included); a shape always repeats in an image; both contrasts occur."""
  from xmjax.data.scenes import CONTRASTS, make_scenes
  images, words, _, _, objects = make_scenes(60, kind="relational", seed=5, with_objects=True)
  assert set(images.contrast) == {0, 1}
  assert (images.contrast[0::2] == images.contrast[1::2]).all()
  for image in range(len(images)):
    shapes = [o["shape"] for o in objects[image]]
    assert len(set(shapes)) < len(shapes)
    sibling = image ^ 1
    for caption in range(5 * image, 5 * image + 5):
      assert caption_holds(words[caption], objects[image]), (image, words[caption])
      assert not caption_holds(words[caption], objects[sibling]), (image, words[caption])
    moved = [k for k, (a, b) in enumerate(zip(objects[image], objects[sibling]))
             if not np.array_equal(a["box"], b["box"])]
    recoloured = [k for k, (a, b) in enumerate(zip(objects[image], objects[sibling]))
                  if a["colour"] != b["colour"]]
    if CONTRASTS[images.contrast[image]] == "spatial":
      assert moved == [1] and recoloured == []
    else:
      assert moved == [] and recoloured == [0, 1]
  # The old kind is kept as it was: some of its captions hold for the sibling too.
  images, words, _, _, objects = make_scenes(60, kind="swap", seed=5, with_objects=True)
  assert any(caption_holds(words[c], objects[(c // 5) ^ 1]) for c in range(len(words)))


def test_minimal_pair_accuracy_counts_wins_over_the_sibling():
  contrast = np.array([0, 0, 1, 1])
  sims = np.zeros((4, 20))
  for image in range(4):
    sims[image, 5 * image:5 * image + 5] = 1.0           # own captions above all others
  sims[1, 0] = 1.0     # caption 0 ties between images 0 and 1: half a win, for
  #                      t2i (1 of 10 captions) and i2t (image 1: 5 of 25 comparisons)
  sims[2, 15:20] = 2.0  # image 2 prefers its sibling's captions: all 25 of its i2t
  #                       comparisons lost, and captions 15-19 prefer image 2 (t2i lost)
  sims[3, 10] = 5.0     # caption 10 prefers image 3: t2i lost, and 5 of image 3's 25
  out = metrics.minimal_pair_accuracy(sims, contrast)
  assert out["minimal_pair_t2i_colour"] == pytest.approx(100 * 9.5 / 10)
  assert out["minimal_pair_i2t_colour"] == pytest.approx(100 * (1 + 22.5 / 25) / 2)
  assert out["minimal_pair_t2i_spatial"] == pytest.approx(100 * 4 / 10)
  assert out["minimal_pair_i2t_spatial"] == pytest.approx(100 * (0 + 20 / 25) / 2)
  assert out["minimal_pair_spatial"] == pytest.approx((40 + 40) / 2)


def test_scenes_config_writes_minimal_pairs_for_the_four_models(tmp_path):
  """configs/racg_scenes.py (shrunk): RACG, RACG without the cross graph and
  the VSE and SCAN t2i baselines in one run, each with R@K and the minimal
  pairs per contrast, plus the cross-off diagnostics."""
  config = set_fields(load_config("racg_scenes"), **{
      "data.scenes.train_pairs": 12, "data.scenes.test_pairs": 4, "data.scenes.feature_dim": 16,
      "model.joint_dim": 32, "model.position_dim": 8, "model.word_dim": 16, "model.num_heads": 4,
      "model.image_block": 4, "train.batch_size": 20, "train.num_epochs": 1})
  assert config.data.scenes.kind == "relational"
  results = train_and_evaluate(config, str(tmp_path))
  reevaluation_changes_only_results(config, tmp_path, results)
  for prefix in ("racg", "racg_no_cross", "vse", "scan_t2i", "racg_cross_off"):
    assert 0 <= results[f"{prefix}/rsum"] <= 600
    for contrast in ("colour", "spatial"):
      value = results[f"{prefix}/minimal_pair_{contrast}"]
      assert 0 <= value <= 100 and value == pytest.approx(
          (results[f"{prefix}/minimal_pair_t2i_{contrast}"]
           + results[f"{prefix}/minimal_pair_i2t_{contrast}"]) / 2)
  sims = np.load(tmp_path / "scan_t2i" / "similarity.npy")
  assert np.isfinite(sims).all()
  # The paired statistics over runs and sibling pairs read the same matrices.
  out = subprocess.run([sys.executable, "launch/minimal_pairs.py", f"--workdirs={tmp_path}",
                        f"--out={tmp_path / 'stats'}"], capture_output=True, text=True, cwd=ROOT,
                       timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  summary = json.loads((tmp_path / "stats" / "minimal_pairs.json").read_text())
  for contrast in ("colour", "spatial"):
    block = summary["contrasts"][contrast]
    assert set(block["models"]) == {"racg", "racg_no_cross", "vse", "scan_t2i"}
    assert block["models"]["vse"]["mean"] == pytest.approx(results[f"vse/minimal_pair_{contrast}"])
    assert block["paired"]["vse"]["pair_difference_mean"] == pytest.approx(
        results[f"racg/minimal_pair_{contrast}"] - results[f"vse/minimal_pair_{contrast}"])
