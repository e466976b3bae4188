"""Re-evaluates a finished or interrupted run without training.

    xmjax eval --workdir=/tmp/xmjax/rrnet_digits [--step=200]

Reads WORKDIR/config.json, restores the latest (or --step) checkpoint, and
rewrites results.json and the plots. Input errors exit with status 2 and a
last line `error: ...`.

Ensembles (RACG, the papers' "*" rows): average the saved test similarity
matrices of several evaluated runs and score the mean, written to
WORKDIR/ensemble_results.json:

    xmjax eval --workdir=/tmp/xmjax/racg_sparse --ensemble_with=/tmp/xmjax/racg_dense
"""

from __future__ import annotations

import json
import os
import sys

import ml_collections
from absl import app, flags

from xmjax.commands.common import fail, print_results, quiet_libraries, run_command

_WORKDIR = flags.DEFINE_string("workdir", None, "The run's workdir.")
_STEP = flags.DEFINE_integer("step", None, "Checkpoint step to evaluate (default: latest).")
_ENSEMBLE = flags.DEFINE_list("ensemble_with", [], "Other evaluated workdirs whose test "
                              "similarities are averaged with this one's (RACG).")
flags.mark_flags_as_required(["workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  quiet_libraries()
  from xmjax.errors import InputError
  from xmjax.train.files import write_json_atomic
  from xmjax.train.runner import ensemble_results, evaluate_workdir
  path = os.path.join(_WORKDIR.value, "config.json")
  try:
    if not os.path.exists(path):
      raise InputError(f"{path}: not found; --workdir must hold a run started by launch/train.py")
    with open(path) as f:
      config = ml_collections.ConfigDict(json.load(f))
    if _ENSEMBLE.value:
      results = ensemble_results(config, [_WORKDIR.value] + _ENSEMBLE.value)
      write_json_atomic(os.path.join(_WORKDIR.value, "ensemble_results.json"), results)
    else:
      results = evaluate_workdir(config, _WORKDIR.value, _STEP.value)
  except InputError as e:
    fail(str(e))
  from xmjax.train.runner import get_task
  print_results(results, get_task(config.experiment).headline)


def run(argv: list[str] | None = None) -> None:
  run_command(main, list(sys.argv if argv is None else argv), __name__, takes_config=False)
