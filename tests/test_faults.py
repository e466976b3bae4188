"""Faults survived: SIGKILL at chosen points of a real training process,
a corrupt latest checkpoint, re-evaluation of a run, determinism."""

import json
import os
import re
import shutil
import signal
import subprocess
import sys

import pytest

from conftest import ROOT, load_config, short_digits_config, subprocess_env
from xmjax.train import train_and_evaluate
from xmjax.train.loop import FAULT_ENV

RRNET_ARGS = ["--config=configs/rrnet_digits.py", "--config.baseline.num_epochs=4",
              "--config.baseline.checkpoint_every=20", "--config.rrnet.num_steps=100",
              "--config.rrnet.checkpoint_every=20", "--config.log_every=10",
              "--config.rrnet.ablations="]
DRSL_ARGS = ["--config=configs/drsl_mfeat.py", "--config.train.num_epochs=2",
             "--config.train.checkpoint_every=5", "--config.log_every=5"]


def drsl_config():
  config = load_config("drsl_mfeat")
  config.train.num_epochs, config.train.checkpoint_every, config.log_every = 2, 5, 5
  return config


def train_cli(args, workdir, fault=None):
  env = subprocess_env()
  if fault:
    env[FAULT_ENV] = fault
  return subprocess.run([sys.executable, os.path.join(ROOT, "launch", "train.py"), *args,
                         f"--workdir={workdir}"], capture_output=True, text=True, cwd=ROOT,
                        env=env, timeout=600)


def read_results(workdir):
  with open(os.path.join(workdir, "results.json")) as f:
    return json.load(f)


@pytest.fixture
def rrnet_reference(rrnet_short_run):
  return rrnet_short_run["workdir"], rrnet_short_run["results"]


@pytest.fixture(scope="module")
def drsl_reference(tmp_path_factory):
  workdir = str(tmp_path_factory.mktemp("drsl_ref"))
  return workdir, train_and_evaluate(drsl_config(), workdir)


def test_rrnet_killed_at_several_points_resumes_to_the_same_results(rrnet_reference, tmp_path):
  workdir = tmp_path / "run"
  # Mid-baseline checkpoint write, then mid-RR-Net between checkpoints.
  for fault in ("baseline:40:save", "rrnet:50:step"):
    killed = train_cli(RRNET_ARGS, workdir, fault)
    assert killed.returncode == -signal.SIGKILL, (fault, killed.stderr[-2000:])
    assert not (workdir / "results.json").exists()
  finished = train_cli(RRNET_ARGS, workdir)
  assert finished.returncode == 0, finished.stderr[-3000:]
  assert read_results(workdir) == rrnet_reference[1]   # bitwise on CPU
  # The command line printed both accuracies and recorded its overrides.
  assert re.search(r"^baseline/test_accuracy\s+0\.\d{4}$", finished.stdout, re.M)
  assert re.search(r"^rrnet/test_accuracy\s+0\.\d{4}$", finished.stdout, re.M)
  with open(workdir / "config.json") as f:
    assert json.load(f)["rrnet"]["num_steps"] == 100


def test_drsl_killed_mid_save_resumes_to_the_same_results(drsl_reference, tmp_path):
  workdir = tmp_path / "run"
  killed = train_cli(DRSL_ARGS, workdir, "drsl:15:save")
  assert killed.returncode == -signal.SIGKILL, killed.stderr[-2000:]
  finished = train_cli(DRSL_ARGS, workdir)
  assert finished.returncode == 0, finished.stderr[-3000:]
  assert read_results(workdir) == drsl_reference[1]


def corrupt_latest(checkpoint_dir):
  steps = sorted(int(d) for d in os.listdir(checkpoint_dir) if d.isdigit())
  latest = os.path.join(checkpoint_dir, str(steps[-1]))
  for root, _, files in os.walk(latest):
    for name in files:
      if "ocdbt" in root or name.endswith("manifest.ocdbt"):
        path = os.path.join(root, name)
        with open(path, "r+b") as f:
          f.truncate(os.path.getsize(path) // 2)
  return steps


@pytest.mark.parametrize("model", ["rrnet", "drsl"])
def test_corrupt_latest_checkpoint_falls_back_to_the_previous(
    model, rrnet_reference, drsl_reference, tmp_path, caplog):
  reference_dir, reference = rrnet_reference if model == "rrnet" else drsl_reference
  workdir = tmp_path / "copy"
  shutil.copytree(reference_dir, workdir)
  os.remove(workdir / "results.json")
  checkpoint_dir = workdir / model / "checkpoints"
  steps = corrupt_latest(checkpoint_dir)
  assert len(steps) == 2                     # the previous checkpoint is still there
  config = short_digits_config() if model == "rrnet" else drsl_config()
  with caplog.at_level("WARNING", logger="xmjax"):
    results = train_and_evaluate(config, str(workdir))
  assert any("is unreadable" in r.getMessage() for r in caplog.records)
  assert os.listdir(workdir / model / "corrupt")          # moved aside, not deleted
  assert results == reference                             # retrained from the previous one


def test_eval_rewrites_results_and_plots_without_training(rrnet_reference, tmp_path):
  workdir = tmp_path / "copy"
  shutil.copytree(rrnet_reference[0], workdir)
  os.remove(workdir / "results.json")
  shutil.rmtree(workdir / "plots")
  checkpoints = sorted(os.listdir(workdir / "rrnet" / "checkpoints"))
  timing = (workdir / "timing.json").read_text()
  result = subprocess.run([sys.executable, os.path.join(ROOT, "launch", "eval.py"),
                           f"--workdir={workdir}"], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
  assert result.returncode == 0, result.stderr[-3000:]
  assert read_results(workdir) == rrnet_reference[1]
  assert (workdir / "plots" / "training_curves.png").exists()
  assert sorted(os.listdir(workdir / "rrnet" / "checkpoints")) == checkpoints  # nothing trained
  assert (workdir / "timing.json").read_text() == timing   # the training run's seconds stay
  bad = subprocess.run([sys.executable, os.path.join(ROOT, "launch", "eval.py"),
                        f"--workdir={workdir}", "--step=7"], capture_output=True, text=True,
                       cwd=ROOT, timeout=600)
  assert bad.returncode == 2
  assert bad.stderr.strip().splitlines()[-1].startswith("error: --step: no checkpoint at step 7")


def test_same_seed_same_results_different_seed_different(drsl_reference, tmp_path):
  assert train_and_evaluate(drsl_config(), str(tmp_path / "again")) == drsl_reference[1]
  other = drsl_config()
  other.seed = 1
  results = train_and_evaluate(other, str(tmp_path / "seed1"))
  assert results["seed"] == 1
  assert results["drsl/map_mean"] != drsl_reference[1]["drsl/map_mean"]


def test_sweep_over_candidates_shares_the_baseline_and_plots(tmp_path):
  from xmjax.train.sweep import parse_values, run_sweep
  config = short_digits_config(**{"rrnet.num_steps": 20, "baseline.num_epochs": 2})
  values = parse_values(config, "rrnet.num_candidates", "1;4")
  assert values == [1, 4]
  summary = run_sweep(config, str(tmp_path), "rrnet.num_candidates", values)
  assert summary["metric"] == "rrnet/test_accuracy"
  first, second = summary["points"]
  # K = 1 leaves one candidate: RR-Net must agree with the baseline's top class.
  assert first["results"]["rrnet/test_accuracy"] == pytest.approx(
      first["results"]["baseline/test_accuracy"], abs=1e-6)
  assert second["results"]["baseline/test_accuracy"] == first["results"]["baseline/test_accuracy"]
  assert not os.path.exists(os.path.join(second["workdir"], "baseline", "checkpoints"))  # shared
  assert (tmp_path / "plots" / "sweep_rrnet.num_candidates.png").exists()
  with open(tmp_path / "sweep.json") as f:
    assert [p["value"] for p in json.load(f)["points"]] == [1, 4]


def test_only_the_primary_process_moves_a_corrupt_checkpoint(tmp_path, monkeypatch):
  """In a multi-host run every process finds the same unreadable checkpoint;
  only process 0 moves it aside, and all meet at a barrier before reopening."""
  import jax.numpy as jnp
  from xmjax.train import checkpoint as checkpoint_lib
  directory = tmp_path / "stage" / "checkpoints"
  saver = checkpoint_lib.Checkpointer(str(directory))
  for step in (1, 2):
    saver.save(step, {"w": jnp.full((3,), float(step))})
  saver.close()
  corrupt_latest(directory)
  barriers = []
  monkeypatch.setattr(checkpoint_lib, "barrier", barriers.append)
  for primary in (False, True):
    monkeypatch.setattr(checkpoint_lib, "is_primary", lambda primary=primary: primary)
    reader = checkpoint_lib.Checkpointer(str(directory))
    restored = reader.restore_latest({"w": jnp.zeros((3,))})
    reader.close()
    assert float(restored["w"][0]) == 1.0                  # fell back to step 1
    moved = os.path.exists(tmp_path / "stage" / "corrupt")
    assert moved == primary and os.path.exists(directory / "2") != primary
  assert len(barriers) == 2 and barriers[0] == barriers[1]


def test_provenance_cli_stops_with_status_2_naming_the_fields_and_keeps_old_results(
    rrnet_reference, tmp_path):
  """Stage provenance: a finished digits run (the shared short run), then
  the same workdir with K = 3 and 50 steps. The check runs before any
  training, so the second command costs only its start-up."""
  workdir = tmp_path / "run"
  shutil.copytree(rrnet_reference[0], workdir)
  results = (workdir / "results.json").read_text()
  args = ["--config=configs/rrnet_digits.py", "--config.baseline.num_epochs=4",
          "--config.baseline.checkpoint_every=20", "--config.rrnet.num_steps=50",
          "--config.rrnet.checkpoint_every=20", "--config.log_every=10",
          "--config.rrnet.ablations=", "--config.rrnet.num_candidates=3"]
  second = subprocess.run([sys.executable, os.path.join(ROOT, "launch", "train.py"), *args,
                           f"--workdir={workdir}"], capture_output=True, text=True, cwd=ROOT,
                          timeout=600)
  assert second.returncode == 2, second.stderr[-2000:]
  last = second.stderr.strip().splitlines()[-1]
  assert "'rrnet'" in last and "rrnet.num_candidates (10 -> 3)" in last
  assert "rrnet.num_steps (100 -> 50)" in last and "fresh --workdir" in last
  assert (workdir / "results.json").read_text() == results
  assert json.loads((workdir / "config.json").read_text())["rrnet"]["num_candidates"] == 10
