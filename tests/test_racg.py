"""RACG: the factored per-pair score against the paper's equations written out
literally, the loss, R@K and re-ranking against brute force, the SCAN loader
and its bad input, and the experiment end to end."""

import json
import os
import subprocess
import sys

import jax
import numpy as np
import pytest

from conftest import ROOT, load_config, set_fields
from scan_files import write_scan_dir
from xmjax import InputError
from xmjax import metrics
from xmjax.data import scan as scan_lib
from xmjax.data.scenes import scenes_split
from xmjax.data.text import NUM_POS
from xmjax.models.racg import RACG, triplet_loss
from xmjax.train import train_and_evaluate


def tiny_model(vocab_size, **kw):
  return RACG(vocab_size=vocab_size, num_pos=NUM_POS, joint_dim=32, position_dim=8, word_dim=16,
              pos_dim=4, num_heads=4, image_block=3, **kw)


@pytest.fixture(scope="module")
def tiny_batch():
  images, captions, vocab = scenes_split(4, feature_dim=16, seed=3)
  rows = np.arange(0, 40, 5)[:6]
  c = captions.take(rows)
  i = images.take(c.image_index)
  args = (i.regions, i.boxes, i.region_mask, c.tokens, c.pos, c.heads, c.lengths, c.link_mask())
  return args, len(vocab)


def literal_pair_score(params, h_r, h_w, region_mask, word_mask, link, heads, cross=True,
                       temperature=4.0, num_heads=4, literal_scale=True):
  """Eq. 5-20 for one pair, node by node, with explicit neighbour sets."""
  p = jax.tree.map(np.asarray, params)
  dense = lambda x, layer: x @ layer["kernel"] + layer.get("bias", 0.0)
  regions = [r for r in range(len(h_r)) if region_mask[r]]
  words = [w for w in range(len(h_w)) if word_mask[w]]
  nodes = [("r", r) for r in regions] + [("w", w) for w in words]
  feature = lambda node: h_r[node[1]] if node[0] == "r" else h_w[node[1]]
  n = len(nodes)

  def softmax_over(i_node, neighbours, maps):
    logits = np.array([dense(feature(i_node), p[maps]["kappa"]) @ dense(feature(k), p[maps]["mu"])
                       for k in neighbours])
    e = np.exp(logits - logits.max())
    return e / e.sum()

  c = []
  for node in nodes:
    groups = []
    if node[0] == "r":
      groups.append(([("r", r) for r in regions], "visual_maps"))
      if cross and any(link[w] for w in words):
        groups.append(([("w", w) for w in words if link[w]], "cross_maps"))
    else:
      w = node[1]
      deps = [("w", k) for k in words if k == w or heads[w] == k or heads[k] == w]
      groups.append((deps, "text_maps"))
      if cross and link[w]:
        groups.append(([("r", r) for r in regions], "cross_maps"))
    total = 0.0
    for neighbours, maps in groups:
      weights = softmax_over(node, neighbours, maps)
      if literal_scale:   # eq. 10's A = block softmax / n
        weights = weights / n
      for a, k in zip(weights, neighbours):
        total = total + (a * dense(feature(k), p["w1"])) @ p["w2"]["kernel"] \
            + feature(node) @ p["w2"]["kernel"]
    v = total / n + p["gcn_bias"]
    c.append(v / np.linalg.norm(v))
  c = np.array(c)

  def side_scores(h, side):
    out = []
    for x in h:
      xn = x / np.linalg.norm(x)
      logits = temperature * (c @ xn)
      w = np.exp(logits - logits.max())
      r = (w / w.sum()) @ c
      xs, rs = x.reshape(num_heads, -1), r.reshape(num_heads, -1)
      cos = (xs * rs).sum(1) / (np.linalg.norm(xs, axis=1) * np.linalg.norm(rs, axis=1))
      hidden = np.tanh(cos @ p[f"{side}_fc1_kernel"] + p[f"{side}_fc1_bias"])
      out.append((hidden @ p[f"{side}_fc2_kernel"] + p[f"{side}_fc2_bias"])[0])
    return np.mean(out)

  return 0.5 * (side_scores(h_r[regions], "image") + side_scores(h_w[words], "text"))


@pytest.mark.parametrize("cross,literal_scale", [(True, True), (False, True), (True, False)])
def test_factored_scores_equal_the_equations_written_out(tiny_batch, cross, literal_scale):
  args, vocab_size = tiny_batch
  model = tiny_model(vocab_size, cross_graph=cross, literal_scale=literal_scale)
  variables = model.init(jax.random.key(0), *args)
  scores = np.asarray(model.apply(variables, *args))
  images = model.apply(variables, *args[:3], method=RACG.encode_images)
  captions = model.apply(variables, *args[3:], method=RACG.encode_captions)
  for i, t in [(0, 0), (1, 4), (5, 2)]:
    expected = literal_pair_score(
        variables["params"], np.asarray(images.h[i], np.float64),
        np.asarray(captions.h[t], np.float64), args[2][i], np.asarray(captions.mask[t]),
        np.asarray(captions.link[t]), args[5][t], cross=cross, literal_scale=literal_scale)
    np.testing.assert_allclose(scores[i, t], expected, rtol=1e-4, atol=1e-5)


def written_out_baseline(scorer, h_r, h_w):
  """VSE: cos of the mean nodes. SCAN t2i (AVG): per word, attention over the
  regions from leaky-ReLU cosines l2-normalised over the words, lambda 9;
  the mean over words of cos(word, attended regions)."""
  cos = lambda a, b: a @ b / np.linalg.norm(a) / np.linalg.norm(b)
  if scorer == "vse":
    return cos(h_r.mean(0), h_w.mean(0))
  sims = np.array([[cos(w, r) for r in h_r] for w in h_w])
  sims = np.where(sims > 0, sims, 0.1 * sims)
  sims = sims / np.sqrt((sims ** 2).sum(0, keepdims=True))
  relevance = []
  for i, w in enumerate(h_w):
    e = np.exp(9.0 * sims[i] - (9.0 * sims[i]).max())
    relevance.append(cos(w, (e / e.sum()) @ h_r))
  return np.mean(relevance)


@pytest.mark.parametrize("scorer", ["vse", "scan_t2i"])
def test_baseline_scorers_equal_their_equations_written_out(tiny_batch, scorer):
  """The baselines on RACG's node encoders (regions with padding, captions
  of several lengths) against their definitions over the real nodes."""
  args, vocab_size = tiny_batch
  model = tiny_model(vocab_size, scorer=scorer)
  variables = model.init(jax.random.key(1), *args)
  scores = np.asarray(model.apply(variables, *args))
  images = model.apply(variables, *args[:3], method=RACG.encode_images)
  captions = model.apply(variables, *args[3:], method=RACG.encode_captions)
  assert not args[2].all()   # some padding regions
  for i, t in [(0, 0), (1, 4), (5, 2), (3, 3)]:
    h_r = np.asarray(images.h[i], np.float64)[np.asarray(args[2][i])]
    h_w = np.asarray(captions.h[t], np.float64)[np.asarray(captions.mask[t])]
    np.testing.assert_allclose(scores[i, t], written_out_baseline(scorer, h_r, h_w),
                               rtol=1e-4, atol=1e-5)
  grads = jax.grad(lambda p: model.apply({"params": p}, *args).sum())(variables["params"])
  assert all(np.isfinite(g).all() for g in jax.tree.leaves(grads))


def literal_cross_share(params, h_r, h_w, region_mask, word_mask, link, heads,
                        literal_scale=True):
  """Node by node: the cross-modal message (eq. 10-11 over cross neighbours
  only) and the self term of every region and linked word; returns the
  summed norms' ratios (regions, words)."""
  p = jax.tree.map(np.asarray, params)
  dense = lambda x, layer: x @ layer["kernel"] + layer.get("bias", 0.0)
  regions = [r for r in range(len(h_r)) if region_mask[r]]
  words = [w for w in range(len(h_w)) if word_mask[w]]
  n = len(regions) + len(words)
  scale = n * n if literal_scale else n
  w2 = p["w2"]["kernel"]

  def cross_message(h, neighbours):
    logits = np.array([dense(h, p["cross_maps"]["kappa"]) @ dense(k, p["cross_maps"]["mu"])
                       for k in neighbours])
    a = np.exp(logits - logits.max())
    a = a / a.sum()
    return sum(ai * dense(k, p["w1"]) @ w2 for ai, k in zip(a, neighbours)) / scale

  linked = [w for w in words if link[w]]
  shares = []
  for side in ("regions", "words"):
    cross_norm = self_norm = 0.0
    if side == "regions":
      for r in regions:
        cross_norm += np.linalg.norm(cross_message(h_r[r], [h_w[w] for w in linked]))
        self_norm += np.linalg.norm((len(regions) + len(linked)) / n * h_r[r] @ w2)
    else:
      for w in linked:
        deps = [k for k in words if k == w or heads[w] == k or heads[k] == w]
        cross_norm += np.linalg.norm(cross_message(h_w[w], [h_r[r] for r in regions]))
        self_norm += np.linalg.norm((len(deps) + len(regions)) / n * h_w[w] @ w2)
    shares.append(cross_norm / self_norm)
  return shares


@pytest.mark.parametrize("literal_scale", [True, False])
def test_cross_message_share_is_the_cross_message_over_the_self_term(tiny_batch, literal_scale):
  args, vocab_size = tiny_batch
  model = tiny_model(vocab_size, literal_scale=literal_scale)
  variables = model.init(jax.random.key(2), *args)
  images = model.apply(variables, *args[:3], method=RACG.encode_images)
  captions = model.apply(variables, *args[3:], method=RACG.encode_captions)
  shares = model.apply(variables, images, captions, method=RACG.cross_message_share)
  for t in (0, 3, 5):
    expected = literal_cross_share(
        variables["params"], np.asarray(images.h[t], np.float64),
        np.asarray(captions.h[t], np.float64), args[2][t], np.asarray(captions.mask[t]),
        np.asarray(captions.link[t]), args[5][t], literal_scale=literal_scale)
    np.testing.assert_allclose([shares["regions"][t], shares["words"][t]], expected, rtol=1e-4)
    assert expected[0] > 0
  off = model.clone(cross_graph=False).apply(variables, images, captions,
                                             method=RACG.cross_message_share)
  assert not np.asarray(off["regions"]).any() and not np.asarray(off["words"]).any()


def test_blocks_padding_and_the_cross_graph(tiny_batch):
  args, vocab_size = tiny_batch
  model = tiny_model(vocab_size)
  variables = model.init(jax.random.key(1), *args)
  scores = model.apply(variables, *args)
  unblocked = model.clone(image_block=0).apply(variables, *args)
  np.testing.assert_allclose(scores, unblocked, rtol=1e-5, atol=1e-6)
  # Extra padding words (length unchanged) change nothing.
  padded = list(args)
  for k in (3, 4, 5, 7):
    pad_value = -1 if k == 5 else 0
    padded[k] = np.pad(args[k], ((0, 0), (0, 4)), constant_values=pad_value)
  np.testing.assert_allclose(model.apply(variables, *padded), scores, rtol=1e-5, atol=1e-6)
  no_cross = model.clone(cross_graph=False).apply(variables, *args)
  assert np.abs(np.asarray(no_cross) - np.asarray(scores)).max() > 1e-4


def test_triplet_loss_matches_its_closed_form():
  scores = np.array([[0.9, 0.5, 0.1], [0.2, 0.6, 0.65], [0.3, 0.0, 0.8]], np.float32)
  loss, parts = triplet_loss(scores, np.eye(3, dtype=bool), margin=0.2, aux_weight=0.2,
                             beta=0.7, gamma=0.3)
  # hardest caption per image: .5, .65, .3; hardest image per caption: .3, .5, .65
  main = sum(max(0, 0.2 - s + h) for s, h in zip((0.9, 0.6, 0.8), (0.5, 0.65, 0.3))) + \
      sum(max(0, 0.2 - s + h) for s, h in zip((0.9, 0.6, 0.8), (0.3, 0.5, 0.65)))
  aux = sum(max(0, h - 0.3) for h in (0.5, 0.65, 0.3, 0.3, 0.5, 0.65)) + \
      sum(max(0, 0.7 - s) for s in (0.9, 0.6, 0.8))
  np.testing.assert_allclose(parts["main_loss"], main, rtol=1e-6)
  np.testing.assert_allclose(loss, main + 0.2 * aux, rtol=1e-6)


def brute_ranks(sims):
  i2t = [min(int(np.flatnonzero(np.argsort(-row, kind="stable") == c)[0])
             for c in range(5 * i, 5 * i + 5)) for i, row in enumerate(sims)]
  t2i = [int(np.flatnonzero(np.argsort(-sims[:, c], kind="stable") == c // 5)[0])
         for c in range(sims.shape[1])]
  return np.array(i2t), np.array(t2i)


def test_recall_and_reranking_equal_brute_force():
  rng = np.random.default_rng(0)
  sims = np.round(rng.standard_normal((30, 150)), 1)     # with ties
  i2t, t2i = metrics.retrieval_ranks(sims)
  expected = brute_ranks(sims)
  np.testing.assert_array_equal(i2t, expected[0])
  np.testing.assert_array_equal(t2i, expected[1])
  r = metrics.recall_at_k(sims)
  assert r["i2t_r5"] == 100 * np.mean(expected[0] < 5)
  assert r["rsum"] == pytest.approx(sum(r[f"{m}_r{k}"] for m in ("i2t", "t2i") for k in (1, 5, 10)))
  assert r["t2i_medr"] == np.floor(np.median(expected[1])) + 1
  assert r["i2t_meanr"] == pytest.approx(np.mean(expected[0]) + 1)
  assert r["t2i_meanr"] == pytest.approx(np.mean(expected[1]) + 1)
  reranked = metrics.rerank_i2t(sims, k1=15)
  for i in (0, 7, 29):
    top = np.argsort(-sims[i], kind="stable")
    position = [int(np.flatnonzero(np.argsort(-sims[:, j], kind="stable") == i)[0])
                for j in top[:15]]
    new_order = np.argsort(-reranked[i], kind="stable")
    np.testing.assert_array_equal(new_order[:15], top[:15][np.argsort(position, kind="stable")])
    np.testing.assert_array_equal(new_order[15:], top[15:])
  perfect = np.kron(np.eye(30), np.ones((1, 5))) + 0.01 * rng.random((30, 150))
  assert metrics.recall_at_k(perfect)["rsum"] == 600.0
  coco = metrics.coco_recall(np.kron(np.eye(10), np.ones((1, 5))), fold_images=5)
  assert coco["1k_rsum"] == coco["5k_rsum"] == 600.0


def brute_reranked_i2t(sims, k1):
  """Each image's top-k1 texts reordered by the image's rank in each text's
  own ranking of the images given (the paper's III-F), written out."""
  ranks = []
  for i, row in enumerate(sims):
    top = list(np.argsort(-row, kind="stable"))
    position = [int(np.flatnonzero(np.argsort(-sims[:, j], kind="stable") == i)[0])
                for j in top[:k1]]
    order = [top[:k1][p] for p in np.argsort(position, kind="stable")] + top[k1:]
    ranks.append(min(order.index(c) for c in range(5 * i, 5 * i + 5)))
  return np.array(ranks)


def test_1k_reranking_is_within_each_fold():
  """The paper's re-ranked 1K columns: each fold's texts re-ranked among that
  fold's images only, then R@K averaged over folds; t2i is not re-ranked."""
  rng = np.random.default_rng(1)
  sims = np.round(rng.standard_normal((24, 120)), 1)    # 3 folds of 8 images, with ties
  coco = metrics.coco_recall(sims, fold_images=8, rerank_k1=6)
  folds = []
  for f in range(3):
    block = sims[8 * f:8 * f + 8, 40 * f:40 * f + 40]
    folds.append(metrics.recall_from_ranks(brute_reranked_i2t(block, 6), brute_ranks(block)[1]))
  for key in ("i2t_r1", "i2t_r5", "i2t_r10", "i2t_meanr", "t2i_r1", "rsum"):
    assert coco[f"1k_{key}"] == pytest.approx(np.mean([r[key] for r in folds]))
  whole = metrics.recall_from_ranks(brute_reranked_i2t(sims, 6), brute_ranks(sims)[1])
  assert coco["5k_rsum"] == pytest.approx(whole["rsum"])
  # Re-ranking among all images and then cutting out the folds is another protocol.
  everywhere = metrics.rerank_i2t(sims, 6)
  cut = [metrics.retrieval_ranks(everywhere[8 * f:8 * f + 8, 40 * f:40 * f + 40])[0]
         for f in range(3)]
  assert coco["1k_i2t_meanr"] != pytest.approx(np.mean([c.mean() + 1 for c in cut]))


# ---------------------------------------------------------------------------
# SCAN layout


def tiny_scan_config(directory, **overrides):
  config = load_config("racg_flickr30k")
  return set_fields(config, **{
      "data.dir": str(directory), "model.joint_dim": 32, "model.position_dim": 8,
      "model.word_dim": 16, "model.pos_dim": 4, "model.num_heads": 4, "model.image_block": 4,
      "model.eval_image_block": 4, "model.eval_caption_block": 16, "train.batch_size": 20,
      "train.num_epochs": 1, "log_every": 2, **overrides})


def test_flickr30k_config_runs_on_the_scan_layout_and_ensembles(tmp_path):
  directory = write_scan_dir(tmp_path / "f30k")
  results = train_and_evaluate(tiny_scan_config(directory), str(tmp_path / "run"))
  for key in ("i2t_r1", "i2t_r5", "i2t_r10", "t2i_r1", "t2i_r5", "t2i_r10", "rsum"):
    assert 0 <= results[f"racg/{key}"] <= (600 if key == "rsum" else 100)
    assert f"racg_rerank/{key}" in results
  assert results["text_graph"] == "chain (no parser)"
  # Diagnostics: the cross graph's share at the nodes, and the same weights without it.
  assert results["racg/cross_share_regions"] > 0 and results["racg/cross_share_words"] > 0
  assert 0 <= results["racg_cross_off/rsum"] <= 600
  sims = np.load(tmp_path / "run" / "racg" / "similarity.npy")
  assert sims.shape == (8, 40)
  assert results["racg/rsum"] == pytest.approx(metrics.recall_at_k(sims)["rsum"])
  # Ensemble ("*" rows): docs/racg.md's command averaging two runs'
  # similarity matrices. The docs pair the chain run with a dense-text-graph
  # run (configs/racg_flickr30k_dense.py); the partner here is the same
  # model from another seed, whose programs are the ones just compiled
  # (the dense text graph's model is checked in
  # test_gradients_are_finite_on_a_batch_padded_with_dummy_items).
  assert load_config("racg_flickr30k_dense").model.text_graph == "dense"
  partner = train_and_evaluate(tiny_scan_config(directory, seed=1), str(tmp_path / "partner"))
  assert partner["text_graph"] == "chain (no parser)"
  partner_sims = np.load(tmp_path / "partner" / "racg" / "similarity.npy")
  assert not np.allclose(partner_sims, sims)
  out = subprocess.run([sys.executable, "launch/eval.py", f"--workdir={tmp_path / 'run'}",
                        f"--ensemble_with={tmp_path / 'partner'}"], capture_output=True,
                       text=True, cwd=ROOT, timeout=300)
  assert out.returncode == 0, out.stderr[-2000:]
  ensemble = json.loads((tmp_path / "run" / "ensemble_results.json").read_text())
  assert ensemble["racg_ensemble/rsum"] == pytest.approx(
      metrics.recall_at_k((sims + partner_sims) / 2)["rsum"])


def test_scan_captions_with_unknown_words_are_counted(tmp_path, caplog):
  directory = write_scan_dir(tmp_path, drop_words=("cube",))
  vocab = scan_lib.load_vocabulary(scan_lib.find_vocabulary(str(directory)))
  _, captions, info = scan_lib.load_scan_split(str(directory), "test", vocab)
  with open(os.path.join(directory, "test_caps.txt")) as f:
    expected = sum(line.split().count("cube") for line in f)
  assert info["unknown_tokens"] == expected > 0
  assert (captions.tokens == vocab.unk).sum() == expected
  assert "mapped to <unk>" in caplog.text


@pytest.mark.parametrize("override,match", [
    ({"test_caps": ["a red cube above a blue ball"] * 33},
     r"test_ims\.npy: 8 images for 33 captions in .*test_caps\.txt; expected 5 captions per image"),
    ({"test_ims_bbx": np.full((8, 36, 4), 700.0, np.float32)},
     r"test_ims_bbx\.npy: box \[700\.0, 700\.0, 700\.0, 700\.0\] of image row 0 region 0 lies outside its image"),
    ({"test_ims": np.full((8, 36, 32), np.nan, np.float32)},
     r"test_ims\.npy: NaN/Inf region features in image row 0"),
])
def test_bad_scan_files_are_named(tmp_path, override, match):
  directory = write_scan_dir(tmp_path / "f30k", **override)
  with pytest.raises(InputError, match=match):
    train_and_evaluate(tiny_scan_config(directory), str(tmp_path / "run"))
  assert not (tmp_path / "run" / "racg" / "checkpoints").exists()


def _with_dummy_items(args):
  """The batch plus one dummy image (no regions) and one dummy caption
  (length 0), as a padded last batch has."""
  regions, boxes, region_mask, tokens, pos, heads, lengths, link = (np.asarray(a) for a in args)
  pad = lambda x, value=0: np.concatenate([x, np.full_like(x[:1], value)], axis=0)
  return (pad(regions), pad(boxes), pad(region_mask, False), pad(tokens), pad(pos),
          pad(heads, -1), pad(lengths), pad(link, False))


@pytest.mark.parametrize("overrides", [
    {}, {"cross_graph": False}, {"literal_scale": False}, {"text_graph": "dense"},
    {"scorer": "vse"}, {"scorer": "scan_t2i"}], ids=lambda o: ",".join(map(str, o.items())) or "racg")
def test_gradients_are_finite_on_a_batch_padded_with_dummy_items(tiny_batch, overrides):
  args, vocab_size = tiny_batch
  model = tiny_model(vocab_size, **overrides)
  padded = _with_dummy_items(args)
  variables = model.init(jax.random.key(1), *padded)
  real = np.arange(len(padded[0])) < len(args[0])

  def loss(params):
    scores = model.apply({"params": params}, *padded)
    # The dummy pairs are masked out of the loss: they must not poison it.
    keep = real[:, None] & real[None, :]
    scores = jax.numpy.where(keep, scores, 0.0)
    return triplet_loss(scores, np.eye(len(real), dtype=bool) | ~keep)[0]

  value, grads = jax.value_and_grad(loss)(variables["params"])
  assert np.isfinite(value)
  bad = [jax.tree_util.keystr(path) for path, g in jax.tree_util.tree_leaves_with_path(grads)
         if not np.isfinite(np.asarray(g)).all()]
  assert not bad, f"non-finite gradient in {len(bad)} leaves: {bad[:5]}"
  # The real pairs' scores are those of the unpadded batch.
  unpadded = model.apply(variables, *args)
  np.testing.assert_allclose(model.apply(variables, *padded)[:-1, :-1], unpadded,
                             rtol=1e-5, atol=1e-6)
