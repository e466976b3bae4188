"""Runs a config once per value of one field and plots a metric against it.

    (`python launch/sweep.py` takes the same flags.)

    # RR-Net accuracy by candidate count K (paper figure 3):
    xmjax sweep --config=rrnet_digits --workdir=/tmp/xmjax/sweep_k \
        --sweep_field=rrnet.num_candidates --sweep_values="1;2;3;5;10"
    # ... by GCN unit sequence (paper table V):
    xmjax sweep --config=rrnet_digits --workdir=/tmp/xmjax/sweep_units \
        --sweep_field=rrnet.units --sweep_values="intra,inter;intra,inter,inter;intra,inter,intra,inter,inter"

Each point is an ordinary, resumable run in WORKDIR/<field>=<value>/; the
summary goes to WORKDIR/sweep.json and WORKDIR/plots/sweep_<field>.png.
RR-Net points share the baseline stage when the sweep does not touch it.

Seeds instead of a field: every result's mean ± std over the seeds, and the
model's metric paired per seed against the baselines of the same runs
(paired t-test, sign test), in WORKDIR/seeds.json and WORKDIR/seeds.md:

    xmjax sweep --config=rrnet_digits --workdir=/tmp/xmjax/seeds \
        --seeds=0,1,2,3,4 [--seed_fields=seed,data.split_seed]

`--seed_fields` says what a seed varies (default `seed`: initialisation,
batch order and augmentation; add the data split's seed to vary that too).
"""

from __future__ import annotations

import sys

from absl import app, flags
from ml_collections import config_flags

from xmjax.commands.common import fail, quiet_libraries, run_command

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A shipped config's name (xmjax configs) or a config file's path.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for all sweep points.")
_FIELD = flags.DEFINE_string("sweep_field", None, "Dotted config field, e.g. rrnet.num_candidates.")
_VALUES = flags.DEFINE_string("sweep_values", None, "Values separated by ';'.")
_SEEDS = flags.DEFINE_list("seeds", [], "Seeds to repeat the run with (instead of a field sweep).")
_SEED_FIELDS = flags.DEFINE_list("seed_fields", ["seed"], "Integer config fields each seed sets.")
_METRIC = flags.DEFINE_string("metric", None, "results.json key to plot (default: the model's "
                              "test accuracy or mAP).")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  quiet_libraries()
  from xmjax.errors import InputError
  from xmjax.train.sweep import parse_values, run_seeds, run_sweep, seeds_markdown
  config = _CONFIG.value
  try:
    if bool(_SEEDS.value) == bool(_FIELD.value or _VALUES.value):
      raise InputError("command line: give either --seeds or --sweep_field with --sweep_values")
    if _SEEDS.value:
      try:
        seeds = [int(s) for s in _SEEDS.value]
      except ValueError:
        raise InputError(f"--seeds: expected integers, got {_SEEDS.value}") from None
      summary = run_seeds(config, _WORKDIR.value, seeds, _SEED_FIELDS.value, _METRIC.value)
      print(seeds_markdown(summary))
      return
    if not (_FIELD.value and _VALUES.value):
      raise InputError("command line: --sweep_field needs --sweep_values")
    summary = run_sweep(config, _WORKDIR.value, _FIELD.value,
                        parse_values(config, _FIELD.value, _VALUES.value), _METRIC.value)
  except InputError as e:
    fail(str(e))
  print(f"{summary['field']:<40}  {summary['metric']}")
  for point in summary["points"]:
    print(f"{str(point['value']):<40}  {point['results'][summary['metric']]:.4f}")


def run(argv: list[str] | None = None) -> None:
  run_command(main, list(sys.argv if argv is None else argv), __name__)
