"""The rrnet_classification experiment end to end: learning, compile count,
resume after a crash, caching of finished stages."""

import json
import logging
import os
import re

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


class CompileCounter(logging.Handler):
  """Counts XLA compilations per jitted function from JAX's compile log."""

  def __init__(self):
    super().__init__()
    self.names = []

  def emit(self, record):
    match = re.match(r"Compiling jit\((\w+)\)", record.getMessage())
    if match:
      self.names.append(match.group(1))


@pytest.fixture(scope="module")
def reference_run(tmp_path_factory):
  """One uninterrupted shortened quick-start run, with its compilations counted."""
  workdir = str(tmp_path_factory.mktemp("reference"))
  config = short_digits_config()
  counter = CompileCounter()
  logger = logging.getLogger("jax._src.interpreters.pxla")
  logger.addHandler(counter)
  jax.config.update("jax_log_compiles", True)
  try:
    results = train_and_evaluate(config, workdir)
  finally:
    jax.config.update("jax_log_compiles", False)
    logger.removeHandler(counter)
  return dict(workdir=workdir, config=config, results=results,
              compiles=(counter.names.count("baseline_train_step"),
                        counter.names.count("rrnet_train_step")))


def test_quick_start_learns_well_above_chance(reference_run):
  results = reference_run["results"]
  assert results == read_json(os.path.join(reference_run["workdir"], "results.json"))
  assert results["config"] == "rrnet_digits" and results["seed"] == 0
  assert results["baseline/test_accuracy"] > 0.8      # chance is 0.1
  assert results["rrnet/test_accuracy"] > 0.5
  assert results["rrnet/test_candidate_recall"] == 1.0  # K = number of classes
  for name in ("config.json", "data_split.npz", "metrics.jsonl", "baseline/outputs.npz"):
    assert os.path.exists(os.path.join(reference_run["workdir"], name)), name
  assert os.listdir(os.path.join(reference_run["workdir"], "tensorboard"))


def test_each_train_step_compiles_once_per_run(reference_run):
  # 88 baseline steps and 100 RR-Net steps, one compile each.
  assert reference_run["compiles"] == (1, 1)


def test_split_is_stratified_and_recorded(reference_run):
  with np.load(os.path.join(reference_run["workdir"], "data_split.npz")) as f:
    train, test = f["baseline"], f["test"]
  assert not set(train) & set(test) and len(train) + len(test) == 1797
  saved = read_json(os.path.join(reference_run["workdir"], "config.json"))
  assert saved["data"]["split_seed"] == 0 and saved["data"]["test_fraction"] == 0.2


def test_rerun_on_finished_workdir_reuses_everything(reference_run):
  calls = []
  again = train_and_evaluate(reference_run["config"], reference_run["workdir"],
                             hooks=[step_recorder(calls)])
  assert calls == []                       # no step was trained again
  assert again == reference_run["results"]  # and the same numbers come out


def test_crash_and_resume_equals_uninterrupted_run(reference_run, tmp_path):
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
  assert results == reference_run["results"]
  for stage, step in (("baseline", 88), ("rrnet", 100)):
    ref = final_params(reference_run["workdir"], stage, step)
    got = final_params(workdir, stage, step)
    for a, b in zip(jax.tree.leaves(ref), jax.tree.leaves(got)):
      np.testing.assert_array_equal(a, b)   # bitwise on CPU
