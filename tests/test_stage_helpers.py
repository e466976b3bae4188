"""The small helpers every task shares: dotted config fields, comma lists,
keeping the best variables inside a jitted step, a fresh train state."""

import jax
import jax.numpy as jnp
import ml_collections
import numpy as np
import pytest

from xmjax import InputError
from xmjax.configs.fields import comma_list, field_problem, get_field, set_field
from xmjax.train.selection import Best, keep_best


def test_dotted_fields_name_what_is_missing_and_the_closest_spelling():
  config = ml_collections.ConfigDict({"rrnet": {"num_steps": 3, "k1": 2}, "seed": 0})
  assert get_field(config, "rrnet.num_steps") == 3
  set_field(config, "rrnet.k1", 7)
  assert config.rrnet.k1 == 7
  assert field_problem(config, "rrnet.k1") is None
  with pytest.raises(InputError, match=r"^config\.rrnet\.num_step: unknown config field "
                     r"\(did you mean config\.rrnet\.num_steps\?\); fields of config\.rrnet: "
                     r"\['k1', 'num_steps'\]$"):
    get_field(config, "rrnet.num_step")
  with pytest.raises(InputError, match=r"^config\.seed: not a section"):
    set_field(config, "seed.x", 1)
  assert "(from --sweep_field)" in field_problem(config, "nope", source="--sweep_field")


def test_comma_lists_strip_and_drop_empty_names():
  assert comma_list(" intra, inter,,inter ,") == ("intra", "inter", "inter")
  assert comma_list("") == () and comma_list(["a ", " ", "b"]) == ("a", "b")


def test_keep_best_keeps_the_lowest_criterion_of_the_due_steps_only():
  """A jitted loop over criteria 5, 3, 4, 1, 2, validated on the even steps
  (5, 4, 2), ends with step 4's 2: the odd steps' 3 and 1 are never looked at."""
  criteria = jnp.array([5.0, 3.0, 4.0, 1.0, 2.0])

  @jax.jit
  def run(best):
    def body(step, best):
      return keep_best(best, step % 2 == 0, {"w": criteria[step] * 10}, step,
                       lambda operand: operand["w"] / 10, lambda operand: operand)
    return jax.lax.fori_loop(0, 5, body, best)

  best = run(Best({"w": jnp.zeros(())}, jnp.asarray(jnp.inf), jnp.asarray(-1)))
  np.testing.assert_allclose(best.variables["w"], 20.0)   # step 4: 2 < 3
  assert float(best.criterion) == 2.0 and int(best.step) == 4
  best = run(Best({"w": jnp.zeros(())}, jnp.asarray(2.5), jnp.asarray(-1)))
  assert float(best.criterion) == 2.0                     # only step 4 beats 2.5


def test_figures_group_curves_by_stage_and_results_by_headline(tmp_path):
  """Training curves: one panel per (stage, metric) with train and valid
  together, constant series left out, stages in logging order. Results: the
  headline keys per metric, each with its per-split (or per-fold) values."""
  import json
  from xmjax.train.plots import (curve_panels, headline_groups, plot_results,
                                 plot_training_curves, read_metrics)
  with open(tmp_path / "metrics.jsonl", "w") as f:
    for step in (10, 20, 30):
      f.write(json.dumps({"step": step, "rrnet/train_loss": 1.0 / step,
                          "rrnet/valid_loss": 2.0 / step, "rrnet/train_candidate_recall": 1.0,
                          "baseline/train_loss": 3.0 / step}) + "\n")
  panels = curve_panels(read_metrics(str(tmp_path)))
  assert list(panels) == ["rrnet", "baseline"]                  # logging order
  assert list(panels["rrnet"]) == ["loss"]                       # the flat recall left out
  assert set(panels["rrnet"]["loss"]) == {"train", "valid"}
  results = {"config": "x", "seed": 0, "rrnet/test_rmse": 0.8, "rrnet/test_rmse_split0": 0.7,
             "rrnet/test_rmse_split1": 0.9, "mf/test_rmse": 0.85, "rrnet/test_rmse_std": 0.1,
             "baseline/accuracy_mean": 0.5, "baseline/fold1_accuracy": 0.4,
             "baseline/fold2_accuracy": 0.6}
  groups = headline_groups(results, ("*/test_rmse", "*/accuracy_mean"))
  assert groups == [("test_rmse", [("rrnet", 0.8, [0.7, 0.9]), ("mf", 0.85, [])]),
                    ("accuracy_mean", [("baseline", 0.5, [0.4, 0.6])])]
  assert plot_training_curves(str(tmp_path)).endswith("training_curves.png")
  assert plot_results(str(tmp_path), results, ("*/test_rmse",)).endswith("results.png")
  assert plot_results(str(tmp_path), results, ("*/nothing",)) is None


def test_a_fresh_train_state_carries_batchnorm_statistics_only_when_the_model_has_them():
  import flax.linen as nn
  import optax
  from xmjax.train.state import BatchStatsTrainState, init_train_state

  class Normalised(nn.Module):
    @nn.compact
    def __call__(self, x):
      return nn.BatchNorm(use_running_average=False)(nn.Dense(3)(x))

  x, tx = jnp.ones((2, 4)), optax.sgd(0.1)
  state = init_train_state(Normalised(), tx, jax.random.key(0), x)
  assert isinstance(state, BatchStatsTrainState) and state.step.dtype == jnp.int32
  assert set(state.batch_stats["BatchNorm_0"]) == {"mean", "var"}
  plain = init_train_state(nn.Dense(3), tx, jax.random.key(0), x)
  assert not isinstance(plain, BatchStatsTrainState) and set(plain.params) == {"kernel", "bias"}
  np.testing.assert_array_equal(plain.params["kernel"],
                                nn.Dense(3).init(jax.random.key(0), x)["params"]["kernel"])
