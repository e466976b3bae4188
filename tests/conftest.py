import logging
import os
import re
import runpy
import tempfile

# Most of the suite's time is XLA compiling the same few programs again in
# each test process and subprocess (the digits run alone is compiled in about
# ten). A persistent compilation cache, shared by the workers and inherited
# by every subprocess, compiles each once; it is keyed by program, jax
# version, flags and devices, so a cached executable is the one a fresh
# compile would give. Set here, before jax is imported.
os.environ.setdefault("JAX_COMPILATION_CACHE_DIR",
                      os.path.join(tempfile.gettempdir(), f"xmjax-tests-jax-cache-{os.getuid()}"))
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS", "0")
os.environ.setdefault("JAX_PERSISTENT_CACHE_MIN_ENTRY_SIZE_BYTES", "0")
# The suite is mostly XLA compiling small programs that it then runs a few
# times. It compiles them with LLVM at -O1 (not -O2) and with XLA:CPU's
# loop-fusion emitters (its default before the new fusion emitters). On 2
# cores that took the cold suite from 12:15 to 8:31 (906 CPU-s, was 1,250)
# and left the warm one as fast. -O0 compiles faster still (7:15 cold), but
# its slower code made the warm suite 5:48. The programs are the same HLO;
# their float32 results can differ from a default build's in the last bits,
# so no test compares against a number recorded with the default flags
# (every number in the configs' docstrings and in docs/ is measured with
# them). Flags already in XLA_FLAGS come later, so they win.
SUITE_XLA_FLAGS = "--xla_backend_optimization_level=1 --xla_cpu_use_fusion_emitters=false"
os.environ["XLA_FLAGS"] = f"{SUITE_XLA_FLAGS} {os.environ.get('XLA_FLAGS', '')}".strip()
# The TPU compile-only target (tests/test_accelerator_compile.py) loads libtpu,
# which otherwise holds a lock file against every other process.
os.environ.setdefault("ALLOW_MULTIPLE_LIBTPU_LOAD", "1")

import jax  # noqa: E402
import pytest

from xmjax.configs.fields import set_field  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def run_python(code: str, timeout: int = 300):
  """Runs `code` in a fresh interpreter at the repo root (import-cost checks)."""
  import subprocess
  import sys
  return subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT,
                        timeout=timeout)


def subprocess_env(host_devices: int = 1) -> dict[str, str]:
  """os.environ for a subprocess that runs JAX on `host_devices` forced CPU
  devices (the suite's compile flags kept), with no fault injection."""
  from xmjax.train.loop import FAULT_ENV
  env = {k: v for k, v in os.environ.items() if k != FAULT_ENV}
  flags = [flag for flag in env.get("XLA_FLAGS", "").split()
           if not flag.startswith("--xla_force_host_platform_device_count")]
  if host_devices > 1:
    flags.append(f"--xla_force_host_platform_device_count={host_devices}")
  env["XLA_FLAGS"] = " ".join(flags)
  return env


def load_config(name: str):
  """configs/<name>.py's get_config(), as launch/train.py would load it."""
  return runpy.run_path(os.path.join(ROOT, "configs", f"{name}.py"))["get_config"]()


def short_digits_config(**overrides):
  """The quick-start config shortened for CPU tests (same code path)."""
  config = load_config("rrnet_digits")
  config.baseline.num_epochs = 4
  config.baseline.checkpoint_every = 20
  config.rrnet.num_steps = 100
  config.rrnet.checkpoint_every = 20
  config.rrnet.ablations = ""   # trained in their own test (test_rrnet_tasks)
  config.log_every = 10
  return set_fields(config, **overrides)


def random_classification_graph(seed, instances, feature_dim, classes, class_dim, *, k1, k2,
                                candidates, labeled=True):
  """A small RR-Net graph over random features, class embeddings and scores
  (draws in a fixed order, so a seed gives the same graph in every test)."""
  import numpy as np
  from xmjax.graph import classification_graph
  rng = np.random.default_rng(seed)
  features = rng.normal(size=(instances, feature_dim)).astype(np.float32)
  class_embeddings = rng.normal(size=(classes, class_dim)).astype(np.float32)
  scores = rng.random((instances, classes)).astype(np.float32)
  labels = rng.integers(0, classes, instances) if labeled else None
  return classification_graph(features, class_embeddings, scores, labels, k1=k1, k2=k2,
                              num_candidates=candidates)


def reevaluation_changes_only_results(config, workdir, results) -> None:
  """`runner.evaluate_workdir` on a finished run gives its results.json
  again, bit for bit, and leaves every file training wrote as it was (no
  checkpoint, metric, cache, record or timing written): every stage is read
  back, none is stepped. It rewrites only results.json, the plots, a
  test-metrics event file and (RACG) the similarity matrices, the last
  byte for byte."""
  import hashlib
  from xmjax.train.runner import evaluate_workdir

  def files():
    found = {}
    for directory, _, names in os.walk(workdir):
      for name in names:
        path = os.path.join(directory, name)
        relative = os.path.relpath(path, workdir)
        if (relative == "results.json" or relative.startswith("plots" + os.sep)
            or (relative.startswith("tensorboard" + os.sep) and ".results" in name)):
          continue
        with open(path, "rb") as f:
          found[relative] = hashlib.sha256(f.read()).hexdigest()
    return found

  before = files()
  assert evaluate_workdir(config, str(workdir)) == results
  after = files()
  changed = sorted(k for k in before.keys() | after.keys() if before.get(k) != after.get(k))
  assert not changed, changed


def set_fields(config, **fields):
  """Sets dotted fields, e.g. set_fields(config, **{"rrnet.k1": 5})."""
  for key, value in fields.items():
    set_field(config, key, value)
  return config


@pytest.fixture
def root():
  return ROOT


class CompileCounter(logging.Handler):
  """Counts XLA compilations per jitted function from JAX's compile log."""

  def __init__(self):
    super().__init__()
    self.names = []

  def emit(self, record):
    match = re.match(r"Compiling jit\((\w+)\)", record.getMessage())
    if match:
      self.names.append(match.group(1))


@pytest.fixture(scope="session")
def rrnet_short_run(tmp_path_factory, worker_id):
  """One uninterrupted run of the shortened quick start, shared by the tests
  that compare against it, with its compilations counted. Under xdist the
  workers share one run (the first to ask makes it, under a file lock)."""
  import json
  from filelock import FileLock
  base = tmp_path_factory.getbasetemp()
  shared = base if worker_id == "master" else base.parent   # the run's dir, above the workers'
  workdir, record = shared / "rrnet_reference", shared / "rrnet_reference.json"
  config = short_digits_config()
  with FileLock(str(record) + ".lock"):
    if record.exists():
      saved = json.loads(record.read_text())
      return dict(workdir=str(workdir), config=config, results=saved["results"],
                  compiles=tuple(saved["compiles"]))
    from xmjax.train import train_and_evaluate
    counter = CompileCounter()
    logger = logging.getLogger("jax._src.interpreters.pxla")
    logger.addHandler(counter)
    jax.config.update("jax_log_compiles", True)
    try:
      results = train_and_evaluate(config, str(workdir))
    finally:
      jax.config.update("jax_log_compiles", False)
      logger.removeHandler(counter)
    compiles = (counter.names.count("baseline_train_step"), counter.names.count("rrnet_train_step"))
    record.write_text(json.dumps({"results": results, "compiles": compiles}))
  return dict(workdir=str(workdir), config=config, results=results, compiles=compiles)
