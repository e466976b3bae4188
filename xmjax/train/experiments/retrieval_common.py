"""Shared parts of the retrieval experiments (DRSL, SDML): data config, the
CCA and supervised linear baselines' results (the models are in
xmjax.models.baselines), mAP over every ordered pair of modalities, curves
and plots."""

from __future__ import annotations

import itertools
import os
from typing import Callable, Mapping, Sequence

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np

from xmjax import random_streams
from xmjax.configs.fields import comma_list
from xmjax import metrics
from xmjax.data.retrieval import (RetrievalData, load_mfeat_retrieval, load_pascal_dir,
                                  load_sdml_h5, load_wikipedia_dir, load_xmedia_mat)
from xmjax.errors import InputError
from xmjax.models.baselines import LINEAR_L2, fit_cca, fit_logistic

DATA_FORMATS = ("mfeat", "sdml_h5", "xmedia_mat", "pascal_mat", "wikipedia_mat")  # LOADERS' keys


def _needs_dir(d) -> None:
  if not d.dir:
    raise InputError(f"config.data.dir: the {d.format} layout needs the directory of its files")


def _load_mfeat(d) -> RetrievalData:
  path = os.path.join(d.dir, d.file or "uci_mfeat.npz") if d.dir else None
  return load_mfeat_retrieval(d.valid_fraction, d.test_fraction, d.split_seed, path)


def _load_sdml_h5(d) -> RetrievalData:
  _needs_dir(d)
  return load_sdml_h5(os.path.join(d.dir, d.file), d.valid_len)


def _load_xmedia_mat(d) -> RetrievalData:
  _needs_dir(d)
  return load_xmedia_mat(os.path.join(d.dir, d.file or "XMediaFeatures.mat"))


def _load_pascal_mat(d) -> RetrievalData:
  _needs_dir(d)
  return load_pascal_dir(d.dir, d.valid_fraction, d.split_seed)


def _load_wikipedia_mat(d) -> RetrievalData:
  _needs_dir(d)
  return load_wikipedia_dir(d.dir, d.valid_fraction, d.split_seed, d.file or "raw_features.mat")


# config.data.format -> loader of config.data: a new layout is one entry here.
LOADERS = {"mfeat": _load_mfeat, "sdml_h5": _load_sdml_h5, "xmedia_mat": _load_xmedia_mat,
           "pascal_mat": _load_pascal_mat, "wikipedia_mat": _load_wikipedia_mat}


def load_data(config: ml_collections.ConfigDict, num_modalities: int | None = None
              ) -> RetrievalData:
  """The data set named by config.data, restricted to config.data.modalities;
  with `num_modalities` (2 for a model that relates a pair) a clear error
  if the config leaves another number."""
  d = config.data
  if d.format not in LOADERS:
    raise InputError(f"config.data.format: unknown {d.format!r}; choose one of {DATA_FORMATS}")
  data = LOADERS[d.format](d)
  if d.modalities:
    data = data.select(list(comma_list(d.modalities)))
  if num_modalities is not None and len(data.modalities) != num_modalities:
    raise InputError(f"config.data.modalities: {config.experiment} relates exactly "
                     f"{num_modalities} modalities, got {list(data.modalities)}")
  return data.standardized() if d.standardize else data


def data_files(config) -> list[str]:
  """The files load_data reads (stage provenance records their signatures)."""
  d = config.data
  if d.format == "mfeat":
    if not d.dir:
      from xmjax.data.shipped import asset_path
      return [asset_path("uci_mfeat.npz")]
    return [os.path.join(d.dir, d.file or "uci_mfeat.npz")]
  if not d.dir:
    return []
  if d.format == "pascal_mat":
    return sorted(os.path.join(d.dir, n) for n in os.listdir(d.dir)
                  if os.path.isfile(os.path.join(d.dir, n))) if os.path.isdir(d.dir) else []
  if d.format == "wikipedia_mat":
    return [os.path.join(d.dir, n) for n in (d.file or "raw_features.mat",
                                             "trainset_txt_img_cat.list",
                                             "testset_txt_img_cat.list", "categories.list")
            if os.path.exists(os.path.join(d.dir, n))]
  default = {"xmedia_mat": "XMediaFeatures.mat"}.get(d.format, "")
  return [os.path.join(d.dir, d.file or default)]


def modality_pairs(modalities: Sequence[str]):
  return [(q, t) for q, t in itertools.permutations(modalities, 2)]


def map_results(prefix: str, similarity: Callable[[str, str], np.ndarray], data: RetrievalData,
                modalities: Sequence[str], split: str = "test", k: int = 50,
                curves: dict | None = None) -> dict[str, float]:
  """`prefix/map_<q>2<t>` and `prefix/map50_<q>2<t>` for every ordered pair,
  plus their means; fills `curves` with P-R / precision@scope curves."""
  out = {}
  for q, t in modality_pairs(modalities):
    sim = similarity(q, t)
    ql, tl = data.labels(split, q), data.labels(split, t)
    out[f"{prefix}/map_{q}2{t}"] = metrics.map_at_all(sim, ql, tl)
    out[f"{prefix}/map{k}_{q}2{t}"] = metrics.map_at_all(sim, ql, tl, k=k)
    if curves is not None:
      curves[(q, t)] = metrics.retrieval_curves(sim, ql, tl)
  for kind in ("map", f"map{k}"):
    values = [v for name, v in out.items() if name.split("/")[1].startswith(kind + "_")]
    out[f"{prefix}/{kind}_mean"] = float(np.mean(values))
  return out


def valid_map(prefix: str, similarity: Callable[[str, str], np.ndarray] | None,
              data: RetrievalData, modalities: Sequence[str]) -> dict[str, float]:
  """`prefix/valid_map_mean`: mAP@ALL over the validation split, the mean over
  ordered pairs (nothing without validation rows or scores)."""
  if similarity is None or any(len(data.labels("valid", m)) == 0 for m in modalities):
    return {}
  values = [metrics.map_at_all(similarity(q, t), data.labels("valid", q), data.labels("valid", t))
            for q, t in modality_pairs(modalities)]
  return {f"{prefix}/valid_map_mean": float(np.mean(values))}


def _paired_rows(data: RetrievalData, a: str, b: str, seed: int):
  """Training pairs for CCA: row i with row i when the modalities are paired
  (same count), else each row of `a` with a seeded random same-class row of `b`."""
  ya, yb = data.labels("train", a), data.labels("train", b)
  if len(ya) == len(yb) and np.array_equal(ya, yb):
    return np.arange(len(ya)), np.arange(len(yb))
  rng = random_streams.generator(seed, random_streams.CCA_PAIRS)
  by_class = {c: np.nonzero(yb == c)[0] for c in np.unique(yb)}
  keep = np.array([c in by_class for c in ya])
  rows_a = np.nonzero(keep)[0]
  rows_b = np.array([rng.choice(by_class[c]) for c in ya[keep]])
  return rows_a, rows_b


def cca_results(data: RetrievalData, modalities: Sequence[str], components: int, seed: int,
                k: int = 50) -> dict[str, float]:
  """The CCA row of the papers' tables: for each pair of modalities, CCA fit
  on the training split, cosine retrieval of test items in its space."""
  spaces = {}
  for a, b in itertools.combinations(modalities, 2):
    rows_a, rows_b = _paired_rows(data, a, b, seed)
    xa, xb = data.features("train", a)[rows_a], data.features("train", b)[rows_b]
    n = min(components, xa.shape[1], xb.shape[1], len(rows_a) - 1)
    mean_a, w_a, mean_b, w_b = fit_cca(xa, xb, n)
    spaces[(a, b)] = {a: (data.features("test", a) - mean_a) @ w_a,
                      b: (data.features("test", b) - mean_b) @ w_b}

  def similarity(q, t):
    space = spaces.get((q, t)) or spaces[(t, q)]
    return metrics.cosine_similarity(space[q], space[t])

  return map_results("cca", similarity, data, modalities, k=k)


def _cross_entropy(logits, labels):
  keep = labels >= 0
  nll = -np.take_along_axis(jax.nn.log_softmax(logits), np.maximum(labels, 0)[:, None], 1)[:, 0]
  return float(np.mean(np.asarray(nll)[keep])) if keep.any() else np.inf


def linear_probabilities(data: RetrievalData, modality: str, num_classes: int,
                         split: str = "test") -> tuple[np.ndarray, float]:
  """The linear baseline of one modality: logistic regression into label
  space on its training rows (features standardised with training
  statistics), the L2 strength of lowest validation cross-entropy (the
  middle one without validation rows); returns (class probabilities of
  `split`, the chosen strength)."""
  train_x = np.asarray(data.features("train", modality), np.float32)
  mean, std = train_x.mean(0), train_x.std(0)
  std = np.where(std > 0, std, 1.0)

  def standardised(part):
    return jnp.asarray((np.asarray(data.features(part, modality), np.float32) - mean) / std)

  weights, biases = fit_logistic(standardised("train"), jnp.asarray(data.labels("train", modality)),
                                 LINEAR_L2, num_classes=num_classes)
  choice = len(LINEAR_L2) // 2
  valid_labels = np.asarray(data.labels("valid", modality))
  if (valid_labels >= 0).any():
    valid_x = standardised("valid")
    choice = int(np.argmin([_cross_entropy(valid_x @ w + b, valid_labels)
                            for w, b in zip(weights, biases)]))
  logits = standardised(split) @ weights[choice] + biases[choice]
  return np.asarray(jax.nn.softmax(logits)), LINEAR_L2[choice]


def linear_results(data: RetrievalData, modalities: Sequence[str], k: int = 50
                   ) -> dict[str, float]:
  """The supervised linear baseline: per-modality multinomial logistic
  regression on the training rows, retrieval by the cosine of the test
  items' predicted class probabilities."""
  probabilities, out = {}, {}
  for m in modalities:
    probabilities[m], out[f"linear/l2_{m}"] = linear_probabilities(data, m, data.num_classes)
  return {**map_results("linear", cosine_scores(probabilities), data, modalities, k=k), **out}


def cosine_scores(embeddings: Mapping[str, np.ndarray]) -> Callable[[str, str], np.ndarray]:
  """A `similarity` for `report` and `map_results` from one embedding per
  item (an array per modality, rows the items): query modality q against
  target t by the cosine of their embeddings."""
  return lambda q, t: metrics.cosine_similarity(embeddings[q], embeddings[t])


def write_plot(workdir: str, name: str, curves: dict, results: dict | None = None) -> None:
  """workdir/plots/<name>_retrieval.png: mAP matrix (from results'
  `<name>/map_<q>2<t>`) and per-query-modality curves."""
  os.makedirs(os.path.join(workdir, "plots"), exist_ok=True)
  maps = None
  if results is not None:
    maps = {(q, t): results[f"{name}/map_{q}2{t}"] for q, t in curves
            if f"{name}/map_{q}2{t}" in results}
  metrics.plot_retrieval_curves(curves, os.path.join(workdir, "plots", f"{name}_retrieval.png"),
                                title=name, maps=maps)


def report(run, model: str, similarity: Callable[[str, str], np.ndarray], data: RetrievalData,
           modalities: Sequence[str],
           valid_similarity: Callable[[str, str], np.ndarray] | None = None) -> dict:
  """The model's mAPs, CCA's and the linear baseline's (results.json's
  numbers), and the retrieval plot. With `valid_similarity` (the model's
  scores between validation items) also `<model>/valid_map_mean`, the
  number to choose settings by."""
  config = run.config
  curves = {}
  results = map_results(model, similarity, data, modalities, k=config.eval.map_k, curves=curves)
  results.update(valid_map(model, valid_similarity, data, modalities))
  results.update(cca_results(data, modalities, config.eval.cca_components, config.seed,
                             k=config.eval.map_k))
  results.update(linear_results(data, modalities, k=config.eval.map_k))
  write_plot(run.workdir, model, curves, results)
  return results
