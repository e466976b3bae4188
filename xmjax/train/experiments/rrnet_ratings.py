"""RR-Net for rating prediction on a social network (paper IV-C: FilmTrust,
Ciao): the graph, its splits and their stages are
`xmjax.train.rrnet_rating_stage.RatingSplits` (what each `rrnet.` field
does is told there).

The metrics are averaged over `data.num_splits` seeded random train/test
splits; every split is a stage with its own checkpoints, so a killed run
resumes inside the split it was in. results.json: `rrnet/test_mae`,
`rrnet/test_rmse` (mean over splits, plus `_std` and per split), the
baseline that predicts the training mean rating, `mean/test_mae`,
`mean/test_rmse`, and biased matrix factorisation trained on the same
split (`mf/`, `xmjax.models.baselines.fit_biased_mf`; its predictions cached in
`mf/predictions.npz`).
"""

from __future__ import annotations

import dataclasses
from typing import Any

import ml_collections
import numpy as np

from xmjax.data import ratings as ratings_lib
from xmjax.errors import InputError
from xmjax.models.baselines import fit_biased_mf
from xmjax.train import provenance
from xmjax.train.rrnet_rating_stage import RatingSplits
from xmjax.train.rrnet_stage import check_units
from xmjax.train.runner import Run, Task
from xmjax.train.state import TrainState


# The splits train one after another, each its own resumable stage, all of
# one config; the MF baseline depends only on the data and its own fields.
STAGES = (provenance.Stage("splits", exclude=("mf.",)),
          provenance.Stage("mf", include=("mf.", "data.", "seed"),
                           outputs=("mf/predictions.npz",)))


def check_config(config: ml_collections.ConfigDict) -> None:
  """What the field ranges (xmjax.configs.ranges) cannot say."""
  if config.data.name != "synthetic" and not config.data.dir:
    files = ", ".join(ratings_lib.RATING_FILES.get(config.data.name, ()))
    raise InputError(f"config.data.dir: set it to the directory holding the "
                     f"{config.data.name} files ({files}); "
                     f"{ratings_lib.RATING_SOURCES.get(config.data.name, '')}")
  check_units(config.rrnet)
  if config.rrnet.prediction_draws and config.rrnet.target_fraction == 0:
    raise InputError(f"config.rrnet.prediction_draws: {config.rrnet.prediction_draws} draws of "
                     f"the training attributes need rrnet.target_fraction > 0 (with every "
                     f"training rating in the attributes there is nothing to draw)")
  if config.rrnet.target_fraction > 0 and config.rrnet.node_attributes != "ratings":
    raise InputError(f"config.rrnet.target_fraction: {config.rrnet.target_fraction} holds "
                     f"training ratings out of the node attributes, which needs "
                     f"rrnet.node_attributes='ratings', not "
                     f"{config.rrnet.node_attributes!r}")


def prepare(config: ml_collections.ConfigDict) -> RatingSplits:
  """The checked config's data, splits and graph (nothing written)."""
  check_config(config)
  return RatingSplits(config)


@dataclasses.dataclass(frozen=True)
class MfFit:
  """Biased MF on one split: its test predictions and the l2 it chose."""
  predicted: np.ndarray
  l2: float


@dataclasses.dataclass(frozen=True)
class Trained:
  """Per split, RR-Net's trained state and MF's fit."""
  states: list[TrainState]
  mf: list[MfFit]


def mf_predictions(splits: RatingSplits, split: int) -> MfFit:
  """Biased MF trained on the split's training ratings."""
  m, d = splits.config.mf, splits.data
  train_rows = ~splits.test_masks[split]
  predict, l2, _ = fit_biased_mf(
      d.users[train_rows], d.items[train_rows], d.ratings[train_rows],
      num_users=d.num_users, num_items=d.num_items, rating_range=d.rating_range,
      rank=m.rank, l2_grid=tuple(m.l2), num_steps=m.num_steps,
      learning_rate=m.learning_rate, valid_fraction=m.valid_fraction,
      seed=splits.config.seed * 1000 + split)
  test = splits.test_masks[split]
  return MfFit(np.asarray(predict(d.users[test], d.items[test])), float(l2))


def split_metrics(splits: RatingSplits, state: TrainState, split: int,
                  mf: MfFit) -> dict[str, float]:
  """RR-Net's, MF's and the training mean's test MAE and RMSE on one split."""
  test = splits.test_masks[split]
  truth = splits.data.ratings[test].astype(np.float64)
  mean = float(splits.data.ratings[~test].mean())
  out = {"num_test_ratings": int(test.sum())}
  for name, predicted in (("rrnet", splits.predict(state, split)), ("mf", mf.predicted),
                          ("mean", np.full_like(truth, mean))):
    out[f"{name}/test_mae"] = float(np.abs(predicted - truth).mean())
    out[f"{name}/test_rmse"] = float(np.sqrt(((predicted - truth) ** 2).mean()))
  return out


def train(run: Run, splits: RatingSplits) -> Trained:
  """The splits one after another, each its own resumable stage; then the
  MF baseline of every split (cached as `split<i>_predicted`, `split<i>_l2`)."""
  split_ids = range(run.config.data.num_splits)
  with run.timed("train"):
    states = [run.train(splits.stage(split)) for split in split_ids]
  with run.timed("mf"):
    def fit_all():
      arrays = {}
      for split in split_ids:
        fit = mf_predictions(splits, split)
        arrays[f"split{split}_predicted"], arrays[f"split{split}_l2"] = (
            fit.predicted, np.float64(fit.l2))
      return arrays
    cached = run.cached("mf/predictions.npz", fit_all)
  mf = [MfFit(cached[f"split{split}_predicted"], float(cached[f"split{split}_l2"]))
        for split in split_ids]
  return Trained(states, mf)


def results(run: Run, splits: RatingSplits, trained: Trained) -> dict[str, Any]:
  """RR-Net's, MF's and the training mean's test MAE and RMSE: mean, std and per split."""
  per_split = [split_metrics(splits, state, split, trained.mf[split])
               for split, state in enumerate(trained.states)]
  out = {"training": "edge_minibatch" if splits.minibatch else "full_graph",
         "num_test_ratings": sum(m["num_test_ratings"] for m in per_split)}
  for split, fitted in enumerate(trained.mf):
    out[f"mf/l2_split{split}"] = fitted.l2
  for key in ("rrnet/test_mae", "rrnet/test_rmse", "mf/test_mae", "mf/test_rmse",
              "mean/test_mae", "mean/test_rmse"):
    values = np.array([m[key] for m in per_split])
    out[key] = float(values.mean())
    out[f"{key}_std"] = float(values.std())
    for split, value in enumerate(values):
      out[f"{key}_split{split}"] = float(value)
  return out


TASK = Task(name="rrnet_ratings", prepare=prepare, train=train, results=results, stages=STAGES,
            inputs=lambda config: {stage: ratings_lib.rating_files(config.data)
                                   for stage in ("splits", "mf")},
            headline=("*/test_rmse", "*/test_mae"))
