"""The rrnet_classification experiment end to end: learning, compile count,
resume after a crash, caching of finished stages."""

import json
import os

import jax

import numpy as np
import orbax.checkpoint as ocp
import pytest

from conftest import short_digits_config
from xmjax.train import train_and_evaluate


class Crash(RuntimeError):
  pass


def crash_at(stage, step):
  def hook(s, n, _):
    if s == stage and n == step:
      raise Crash(f"simulated crash at {stage} step {step}")
  return hook


def step_recorder(calls):
  return lambda stage, step, _: calls.append((stage, step))


def read_json(path):
  with open(path) as f:
    return json.load(f)


def final_params(workdir, stage, step):
  path = os.path.join(workdir, stage, "checkpoints", str(step), "default")
  return ocp.StandardCheckpointer().restore(path)["params"]


def test_quick_start_learns_well_above_chance(rrnet_short_run):
  results = rrnet_short_run["results"]
  assert results == read_json(os.path.join(rrnet_short_run["workdir"], "results.json"))
  assert results["config"] == "rrnet_digits" and results["seed"] == 0
  assert results["baseline/test_accuracy"] > 0.8      # chance is 0.1
  assert results["rrnet/test_accuracy"] > 0.5
  assert results["rrnet/test_candidate_recall"] == 1.0  # K = number of classes
  for name in ("config.json", "data_split.npz", "metrics.jsonl", "baseline/outputs.npz"):
    assert os.path.exists(os.path.join(rrnet_short_run["workdir"], name)), name
  assert os.listdir(os.path.join(rrnet_short_run["workdir"], "tensorboard"))
  with open(os.path.join(rrnet_short_run["workdir"], "metrics.jsonl")) as f:
    logged = set().union(*(json.loads(line) for line in f))
  assert {"rrnet/train_loss", "rrnet/valid_loss", "rrnet/valid_accuracy"} <= logged
  assert os.path.exists(os.path.join(rrnet_short_run["workdir"], "plots", "training_curves.png"))


def test_each_train_step_compiles_once_per_run(rrnet_short_run):
  # 76 baseline steps and 100 RR-Net steps, one compile each.
  assert rrnet_short_run["compiles"] == (1, 1)


def test_split_is_stratified_and_recorded(rrnet_short_run):
  with np.load(os.path.join(rrnet_short_run["workdir"], "data_split.npz")) as f:
    train, valid, test = f["baseline"], f["valid"], f["test"]
  assert not set(train) & set(test) and not set(valid) & (set(train) | set(test))
  assert len(train) + len(valid) + len(test) == 1797
  saved = read_json(os.path.join(rrnet_short_run["workdir"], "config.json"))
  assert saved["data"]["split_seed"] == 0 and saved["data"]["test_fraction"] == 0.2


def test_rerun_on_finished_workdir_reuses_everything(rrnet_short_run, tmp_path):
  calls = []
  import shutil
  workdir = str(tmp_path / "again")   # a copy: other workers read the shared run
  shutil.copytree(rrnet_short_run["workdir"], workdir)
  again = train_and_evaluate(rrnet_short_run["config"], workdir,
                             hooks=[step_recorder(calls)])
  assert calls == []                       # no step was trained again
  assert again == rrnet_short_run["results"]  # and the same numbers come out


def test_crash_and_resume_equals_uninterrupted_run(rrnet_short_run, tmp_path):
  workdir = str(tmp_path)
  config = short_digits_config()
  with pytest.raises(Crash):                # killed mid-baseline (last checkpoint: step 40)
    train_and_evaluate(config, workdir, hooks=[crash_at("baseline", 50)])
  assert not os.path.exists(os.path.join(workdir, "baseline", "outputs.npz"))
  with pytest.raises(Crash):                # resumed, then killed mid-RR-Net (checkpoint: 60)
    train_and_evaluate(config, workdir, hooks=[crash_at("rrnet", 70)])
  calls = []
  results = train_and_evaluate(config, workdir, hooks=[step_recorder(calls)])
  assert calls[0] == ("rrnet", 61)          # resumed after the last checkpoint, not from 0
  assert results == rrnet_short_run["results"]
  for stage, step in (("baseline", 76), ("rrnet", 100)):
    ref = final_params(rrnet_short_run["workdir"], stage, step)
    got = final_params(workdir, stage, step)
    for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(got)):
      np.testing.assert_array_equal(a, b)   # bitwise on CPU


def test_logged_training_metrics_are_the_mean_over_the_logging_interval(tmp_path):
  import flax.struct
  import jax.numpy as jnp
  from xmjax.train.checkpoint import Checkpointer
  from xmjax.train.logging import MetricWriter
  from xmjax.train.loop import run_training

  @flax.struct.dataclass
  class Counter:
    step: jax.Array

  @jax.jit
  def step_fn(state, value):
    return Counter(state.step + 1), {"value": value, "best_value": value}

  writer = MetricWriter(str(tmp_path))
  run_training(state=Counter(jnp.array(0)), train_step=step_fn,
               batch_fn=lambda step: (jnp.float32(step + 1),), num_steps=7,
               checkpointer=Checkpointer(str(tmp_path / "ckpt")), writer=writer, prefix="t",
               log_every=5, checkpoint_every=100)
  writer.close()
  with open(tmp_path / "metrics.jsonl") as f:
    logged = [json.loads(line) for line in f]
  assert [(r["step"], r["t/train_value"]) for r in logged] == [(5, 3.0), (7, 6.5)]
  assert [r["t/train_best_value"] for r in logged] == [5.0, 7.0]    # snapshots: the latest


@pytest.mark.parametrize("log_every,checkpoint_every", [(4, 2), (2, 4)])
def test_a_diverged_loss_stops_the_stage_before_a_checkpoint_keeps_it(
    tmp_path, log_every, checkpoint_every):
  import flax.struct
  import jax.numpy as jnp
  from xmjax.train.checkpoint import Checkpointer
  from xmjax.train.loop import TrainingDiverged, run_training

  @flax.struct.dataclass
  class Counter:
    step: jax.Array

  @jax.jit
  def step_fn(state, value):
    return Counter(state.step + 1), {"loss": value, "valid_map": jnp.float32(0.5)}

  checkpointer = Checkpointer(str(tmp_path / "ckpt"))
  losses = [1.0, 0.9, 0.8, 0.7, 0.6, np.nan, np.nan, np.nan]   # diverges at step 6
  with pytest.raises(TrainingDiverged, match=r"stage t: training diverged, loss=nan in steps "
                                             r"5\.\.(6|8); the checkpoint of step 4 is the last"):
    run_training(state=Counter(jnp.array(0)), train_step=step_fn,
                 batch_fn=lambda step: (jnp.float32(losses[step]),), num_steps=8,
                 checkpointer=checkpointer, writer=None, prefix="t", log_every=log_every,
                 checkpoint_every=checkpoint_every)
  saved = Checkpointer(str(tmp_path / "ckpt")).all_steps()
  assert saved == [s for s in (2, 4) if s % checkpoint_every == 0]   # nothing past the NaN
