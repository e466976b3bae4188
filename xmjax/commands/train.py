"""Trains and evaluates any xmjax config.

    xmjax train --config=rrnet_digits --workdir=/tmp/xmjax/digits \
        [--config.rrnet.num_steps=100 ...]
    python launch/train.py --config=configs/rrnet_digits.py --workdir=...   # the same

--config is a shipped config's name (`xmjax configs` lists them) or the
path of any config file. A run started on an existing workdir resumes from
its checkpoints and cached stages. Input errors (bad data, an unknown or
impossible config field, a missing config file) exit with status 2 and a
last line `error: <file or field>: <problem>`.

Multi-host: start the same command on every host with
`--coordinator_address=HOST0:PORT --num_processes=N --process_id=I` (or the
environment variables JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
JAX_PROCESS_ID); the data-parallel mesh then spans all hosts' devices and the
workdir must be on a file system every host sees.
"""

from __future__ import annotations

import sys

from absl import app, flags
from ml_collections import config_flags

from xmjax.commands.common import fail, print_results, quiet_libraries, run_command

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "A shipped config's name (xmjax configs) or a config file's path.",
    lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and results.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "Multi-host: host:port of process 0 (jax.distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-host: this process's index.")
flags.mark_flags_as_required(["config", "workdir"])


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  quiet_libraries()
  from xmjax.errors import InputError
  from xmjax.train import parallel, train_and_evaluate
  from xmjax.train.runner import get_task
  parallel.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  try:
    results = train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except InputError as e:
    fail(str(e))
  print_results(results, get_task(_CONFIG.value.experiment).headline)


def run(argv: list[str] | None = None) -> None:
  run_command(main, list(sys.argv if argv is None else argv), __name__)
