"""The runner, seen from a task of one's own (toy_task.py, docs/adding_a_model.md, "Adding a
model"): what every task gets without writing it, and the runner's helpers."""

import json
import os

import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from conftest import set_fields
from xmjax.configs import schemas
from xmjax.errors import InputError
from xmjax.train import provenance, runner
from xmjax.train.batching import EpochBatches, epoch_batch_rows


class Crash(Exception):
  pass


@pytest.fixture
def toy():
  return lambda: schemas.schema("toy_task")


def read(path):
  with open(path) as f:
    return json.load(f)


def test_a_task_of_its_own_gets_every_run_file(toy, tmp_path):
  results = runner.train_and_evaluate(toy(), str(tmp_path))
  assert results["config"] == "toy_regression" and results["seed"] == 0
  # It learns: within 10% of the closed-form least-squares fit on test rows.
  assert results["toy/test_mse"] < 1.1 * results["least_squares/test_mse"]
  assert read(tmp_path / "results.json") == results
  assert read(tmp_path / "config.json")["train"]["num_steps"] == 60
  assert "toy" in read(tmp_path / "stages.json")
  assert set(read(tmp_path / "timing.json")) == {"data_seconds", "toy_seconds"}
  assert sorted(os.listdir(tmp_path / "toy" / "checkpoints")) == ["40", "60"]  # the last two
  with open(tmp_path / "metrics.jsonl") as f:
    logged = [json.loads(line) for line in f]
  assert [r["step"] for r in logged if "toy/train_loss" in r] == [50, 60]
  assert (tmp_path / "plots" / "training_curves.png").exists()


def test_a_resumed_run_says_what_it_reuses_and_keeps_its_times(toy, tmp_path, caplog):
  """A rerun of a finished workdir logs the stage as reused, keeps the first
  run's training time in timing.json, adds no empty TensorBoard file (only
  the one with its test metrics), and writes every file readable like
  config.json (not mkstemp's 0600)."""
  import logging
  caplog.set_level(logging.INFO, logger="xmjax")
  runner.train_and_evaluate(toy(), str(tmp_path))
  assert "stage toy: training 60 steps" in caplog.text
  first = read(tmp_path / "timing.json")
  events = set(os.listdir(tmp_path / "tensorboard"))
  assert len(events) == 2                          # training curves, test metrics
  caplog.clear()
  runner.train_and_evaluate(toy(), str(tmp_path))
  assert "stage toy: reused, all 60 steps in its checkpoint" in caplog.text
  again = read(tmp_path / "timing.json")
  assert again["toy_seconds"] == first["toy_seconds"] and again["reused"] == ["toy"]
  now = os.listdir(tmp_path / "tensorboard")
  assert [n for n in now if not n.endswith(".results")] == [
      n for n in events if not n.endswith(".results")]   # no training-curve file opened
  assert len(now) - len(events) <= 1
  modes = {name: os.stat(tmp_path / name).st_mode & 0o777
           for name in ("config.json", "results.json", "timing.json", "stages.json")}
  assert len(set(modes.values())) == 1, modes


def test_a_killed_run_resumes_to_the_same_numbers(toy, tmp_path):
  reference = runner.train_and_evaluate(toy(), str(tmp_path / "whole"))

  def crash(stage, step, state):
    if step == 30:
      raise Crash
  with pytest.raises(Crash):
    runner.train_and_evaluate(toy(), str(tmp_path / "cut"), hooks=[crash])
  steps = []
  resumed = runner.train_and_evaluate(toy(), str(tmp_path / "cut"),
                                      hooks=[lambda stage, step, state: steps.append(step)])
  assert steps[0] == 21        # from the step-20 checkpoint, not from scratch
  assert resumed == reference  # batches are a function of the step: bitwise the same


def test_evaluate_workdir_restores_instead_of_training(toy, tmp_path):
  results = runner.train_and_evaluate(toy(), str(tmp_path))
  timing = read(tmp_path / "timing.json")
  assert runner.evaluate_workdir(toy(), str(tmp_path)) == results
  earlier = runner.evaluate_workdir(toy(), str(tmp_path), step=40)
  assert earlier["toy/test_mse"] != results["toy/test_mse"]
  assert read(tmp_path / "timing.json") == timing   # an evaluation keeps the training times
  with pytest.raises(InputError, match=r"--step: no checkpoint at step 25"):
    runner.evaluate_workdir(toy(), str(tmp_path), step=25)
  with pytest.raises(InputError, match=r"no checkpoint in"):
    runner.evaluate_workdir(toy(), str(tmp_path / "empty"))


def test_a_finished_stage_is_reused_only_for_its_config(toy, tmp_path):
  results = runner.train_and_evaluate(toy(), str(tmp_path))
  other = set_fields(toy(), **{"train.learning_rate": 0.05})
  with pytest.raises(provenance.StageMismatch, match=r"stage 'toy'.*train\.learning_rate "
                     r"\(0\.1 -> 0\.05\).*fresh --workdir"):
    runner.train_and_evaluate(other, str(tmp_path))
  assert read(tmp_path / "results.json") == results
  assert read(tmp_path / "config.json")["train"]["learning_rate"] == 0.1
  # Fields that never change a result may differ on resume.
  assert runner.train_and_evaluate(set_fields(toy(), log_every=7), str(tmp_path)) == results


def test_bad_input_fails_before_the_workdir_is_touched(toy, tmp_path):
  with pytest.raises(InputError, match=r"config\.train\.batch_size: 200 is larger"):
    runner.train_and_evaluate(set_fields(toy(), **{"train.batch_size": 200}), str(tmp_path))
  unlocked = ml_collections.ConfigDict(toy().to_dict())
  unlocked.train.num_step = 3
  with pytest.raises(InputError, match=r"config\.train\.num_step: unknown config field"):
    runner.train_and_evaluate(unlocked, str(tmp_path))
  # A field the task reads but the config lacks fails here too, not when
  # the task reaches it (for a results function: after training).
  incomplete = ml_collections.ConfigDict(toy().to_dict())
  del incomplete.train["checkpoint_every"]
  with pytest.raises(InputError, match=r"config\.train\.checkpoint_every: missing; the task "
                     r"reads it \(its schema's default: 20\)"):
    runner.train_and_evaluate(incomplete, str(tmp_path))
  assert os.listdir(tmp_path) == []
  with pytest.raises(InputError, match=r"config\.experiment: unknown experiment 'nope'"):
    runner.get_task("nope")


def test_compiled_jits_once_per_function_and_static_arguments():
  traces = []

  def scaled(x, *, factor):
    traces.append(factor)
    return x * factor

  x = jnp.ones(3)
  np.testing.assert_array_equal(runner.compiled(scaled, factor=2.0)(x), 2 * np.ones(3))
  runner.compiled(scaled, factor=2.0)(x)   # a new partial, the same compiled function
  runner.compiled(scaled, factor=3.0)(x)   # another static value: one more trace
  assert traces == [2.0, 3.0]


def test_epoch_batches_are_seeded_permutations_and_a_function_of_the_step():
  rows = np.arange(10, 33)           # 23 row ids, batches of 5: 4 per epoch, 3 rows dropped
  epoch0 = [epoch_batch_rows((0, 1), rows, 5, s) for s in range(4)]
  seen = np.concatenate(epoch0)
  assert len(set(seen)) == 20 and set(seen) <= set(rows)
  np.testing.assert_array_equal(epoch_batch_rows((0, 1), rows, 5, 2), epoch0[2])
  assert not np.array_equal(epoch_batch_rows((0, 1), rows, 5, 4), epoch0[0])  # epoch 1 reshuffles
  assert not np.array_equal(epoch_batch_rows((0, 2), rows, 5, 0), epoch0[0])  # another stream
  np.testing.assert_array_equal(epoch_batch_rows((0, 1), 23, 5, 1) + 10, epoch0[1])
  # A stage's schedule: its length, and each step's batch as TrainingStage.batches gives it.
  schedule = EpochBatches((0, 1), rows, batch_size=5, num_epochs=3)
  assert schedule.num_steps == 12 and EpochBatches((0, 1), 23, 5, 3).num_steps == 12
  for step in (0, 3, 4, 11):
    (batch,) = schedule(step)
    np.testing.assert_array_equal(batch, epoch_batch_rows((0, 1), rows, 5, step))


def test_seeds_give_mean_std_and_paired_comparisons(toy, tmp_path):
  from scipy import stats
  from xmjax.train.sweep import run_seeds
  seeds = [0, 1, 2, 3, 4]
  summary = run_seeds(toy(), str(tmp_path), seeds, seed_fields=("seed", "data.split_seed"),
                      metric="toy/test_mse")
  runs = [read(tmp_path / f"seed={s}" / "results.json") for s in seeds]
  assert [r["seed"] for r in runs] == seeds
  assert [read(tmp_path / f"seed={s}" / "config.json")["data"]["split_seed"]
          for s in seeds] == seeds
  model = [r["toy/test_mse"] for r in runs]
  closed_form = [r["least_squares/test_mse"] for r in runs]
  s = summary["results"]["toy/test_mse"]
  assert s["values"] == model
  assert s["mean"] == pytest.approx(np.mean(model))
  assert s["std"] == pytest.approx(np.std(model, ddof=1))
  paired = summary["paired"]["least_squares/test_mse"]
  np.testing.assert_allclose(paired["differences"], np.subtract(model, closed_form))
  assert paired["paired_t_p"] == pytest.approx(stats.ttest_rel(model, closed_form).pvalue)
  assert paired["above"] + paired["below"] == 5
  assert read(tmp_path / "seeds.json") == summary
  table = (tmp_path / "seeds.md").read_text()
  assert "varying config.seed, config.data.split_seed" in table and "least_squares/test_mse" in table
  with pytest.raises(InputError, match=r"--seeds: need at least two different seeds"):
    run_seeds(toy(), str(tmp_path / "one"), [3, 3])


def test_paired_sign_test_leaves_out_float32_ties():
  """0.99 from a device (float32) against 0.99 from NumPy is a tie, not a win."""
  from xmjax.train.sweep import paired_comparisons
  per_seed = [{"rrnet/acc": float(np.float32(a)), "baseline/acc": b}
              for a, b in [(0.99, 0.99), (0.9925, 0.99), (0.99, 0.9875), (0.9875, 0.99)]]
  paired = paired_comparisons(per_seed, "rrnet/acc")["baseline/acc"]
  assert (paired["above"], paired["below"]) == (2, 1)
  assert paired["sign_test_p"] == pytest.approx(1.0)        # 2 of 3 untied seeds
