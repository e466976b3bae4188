"""Trains and evaluates any xmjax config.

    python launch/train.py --config=configs/rrnet_digits.py --workdir=/tmp/xmjax/digits \
        [--config.rrnet.num_steps=100 ...]

A run started on an existing workdir resumes from its checkpoints and cached
stages. Input errors (bad data, an unknown or impossible config field) exit
with status 2 and a last line `error: <file or field>: <problem>`.

Multi-host: start the same command on every host with
`--coordinator_address=HOST0:PORT --num_processes=N --process_id=I` (or the
environment variables JAX_COORDINATOR_ADDRESS, JAX_NUM_PROCESSES,
JAX_PROCESS_ID); the data-parallel mesh then spans all hosts' devices and the
workdir must be on a file system every host sees.
"""

import os
import runpy

from absl import app, flags
from ml_collections import config_flags

from xmjax.train.cli import fail, print_results, quiet_libraries

_CONFIG = config_flags.DEFINE_config_file(
    "config", None, "Path to a config file (configs/*.py).", lock_config=True)
_WORKDIR = flags.DEFINE_string("workdir", None, "Directory for checkpoints, metrics and results.")
_COORDINATOR = flags.DEFINE_string(
    "coordinator_address", None, "Multi-host: host:port of process 0 (jax.distributed).")
_NUM_PROCESSES = flags.DEFINE_integer("num_processes", None, "Multi-host: number of processes.")
_PROCESS_ID = flags.DEFINE_integer("process_id", None, "Multi-host: this process's index.")
flags.mark_flags_as_required(["config", "workdir"])


def _explain_override_error(argv, error: Exception) -> str:
  """Names the --config.X override that does not exist in the config file."""
  config_path = next((a.split("=", 1)[1] for a in argv if a.startswith("--config=")), None)
  if config_path and os.path.exists(config_path):
    config = runpy.run_path(config_path)["get_config"]()
    for arg in argv:
      if not arg.startswith("--config."):
        continue
      path = arg[len("--config."):].split("=", 1)[0]
      node = config
      for i, key in enumerate(path.split(".")):
        if not hasattr(node, "keys") or key not in node:
          parent = ".".join(["config"] + path.split(".")[:i])
          known = sorted(node.keys()) if hasattr(node, "keys") else []
          return f"config.{path}: unknown config field (from {arg}); fields of {parent}: {known}"
        node = node[key]
  return f"command line: {type(error).__name__}: {error}"


def _parse_flags(argv):
  try:
    return flags.FLAGS(argv)
  except flags.Error as e:
    fail(f"command line: {e}")
  except (AttributeError, KeyError, TypeError, ValueError) as e:
    fail(_explain_override_error(argv, e))


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f"Unexpected arguments: {argv[1:]}")
  quiet_libraries()
  from xmjax.errors import InputError
  from xmjax.train import parallel, train_and_evaluate
  parallel.initialize_distributed(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
  try:
    results = train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except InputError as e:
    fail(str(e))
  print_results(results)


if __name__ == "__main__":
  app.run(main, flags_parser=_parse_flags)
